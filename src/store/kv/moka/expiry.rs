//! Expiry for the single-node stores: every value carries its own wall-clock deadline, which
//! readers check (so expiry is exact, on the service's `Clock`, which tests move). moka only
//! frees the memory, a fixed time after each write.
use std::time::Duration;

use crate::domain::UnixMicros;

/// A value that knows when it stops being valid.
pub trait Expires {
    fn expires_at(&self) -> UnixMicros;
}

/// A moka cache bounded to `max_entries` that drops each entry `ttl` after its last write.
///
/// One time-to-live for the whole cache, not a deadline per entry (moka's `Expiry`): every
/// value in a store lives as long as the store's setting (a code CODE_TTL_SECONDS, a session
/// SESSION_TTL_SECONDS), and a per-entry deadline in moka's timer wheel cost ~10 B more per
/// entry (1,239 → 1,228 MB at a million codes and a million sessions, docs/performance.md),
/// and a policy of its own. A write (a
/// wrong guess spending a try) restarts the entry's time: the memory of a code may outlive its
/// deadline by up to one TTL, never the code itself, which readers judge by its deadline.
pub fn ttl_cache<K, V>(max_entries: u64, ttl: Duration) -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .max_capacity(max_entries)
        .time_to_live(ttl.max(Duration::from_millis(1)))
        .build()
}
