//! Per-entry expiry for moka caches: each value carries its own wall-clock deadline.
use std::time::{Duration, Instant};

use moka::Expiry;

use crate::domain::{UnixMicros, now_micros};

/// A value that knows when it stops being valid.
pub trait Expires {
    fn expires_at(&self) -> UnixMicros;
}

/// Expires every entry at its own `expires_at`, on insert and on every replacement alike, so a
/// fresh code or an updated try counter never inherits or resets another deadline.
pub struct AtDeadline;

impl<K, V: Expires> Expiry<K, V> for AtDeadline {
    fn expire_after_create(&self, _: &K, value: &V, _: Instant) -> Option<Duration> {
        Some(remaining(value))
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &V,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(remaining(value))
    }
}

/// A moka cache bounded to `max_entries` whose entries expire at their own deadline.
pub fn deadline_cache<K, V>(max_entries: u64) -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Expires + Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .max_capacity(max_entries)
        .expire_after(AtDeadline)
        .build()
}

fn remaining(value: &impl Expires) -> Duration {
    Duration::from_micros(value.expires_at().saturating_sub(now_micros()).max(0) as u64)
}
