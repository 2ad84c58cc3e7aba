//! Per-entry expiry for moka caches: each value carries its own wall-clock deadline.
use std::time::{Duration, Instant};

use moka::Expiry;

use crate::domain::{Clock, UnixMicros};

/// A value that knows when it stops being valid.
pub trait Expires {
    fn expires_at(&self) -> UnixMicros;
}

/// Expires every entry at its own `expires_at`, on insert and on every replacement alike, so a
/// fresh code or an updated try counter never inherits or resets another deadline.
pub struct AtDeadline(Clock);

impl<K, V: Expires> Expiry<K, V> for AtDeadline {
    fn expire_after_create(&self, _: &K, value: &V, _: Instant) -> Option<Duration> {
        Some(remaining(&self.0, value))
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &V,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(remaining(&self.0, value))
    }
}

/// A moka cache bounded to `max_entries` whose entries expire at their own deadline, as read on
/// `clock`. moka evicts on its own monotonic timer; readers still compare the deadline with
/// `clock`, which makes expiry exact (and lets tests move time).
pub fn deadline_cache<K, V>(max_entries: u64, clock: Clock) -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Expires + Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .max_capacity(max_entries)
        .expire_after(AtDeadline(clock))
        .build()
}

fn remaining(clock: &Clock, value: &impl Expires) -> Duration {
    Duration::from_micros(value.expires_at().saturating_sub(clock.now()).max(0) as u64)
}
