//! Counters behind every throttle: sliding-window logs (per-phone limits, the global SMS budget)
//! and token buckets (per-client-address rates). One trait, so that a shared store can back
//! them when several instances run side by side.
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{AuthError, UnixMicros};

/// Whether a throttle let a call through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Admitted; `stamp` identifies the recorded hit so that it can be refunded.
    Allowed { stamp: UnixMicros },
    /// Refused; the caller may retry after this long.
    Denied { retry_after: Duration },
    /// Refused because the previous hit was less than the minimum gap ago.
    TooSoon { retry_after: Duration },
}

/// Rate-limit counters, each check-and-update atomic per key.
#[async_trait]
pub trait RateLimits: Send + Sync + 'static {
    /// Records a hit under `key` unless the last hit is younger than `min_gap` (then
    /// [`Admission::TooSoon`]) or `limit` hits already fall within the last `window`. One log
    /// serves both limits, so a per-phone cooldown costs no second counter.
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        min_gap: Duration,
    ) -> Result<Admission, AuthError>;

    /// Takes back the hit `stamp` (the call it admitted did not happen after all).
    async fn refund(&self, key: &str, stamp: UnixMicros) -> Result<(), AuthError>;

    /// Counts a hit in the fixed window (aligned to multiples of `window`) holding now, unless
    /// `limit` hits are already counted there. O(1) whatever the limit, for large budgets.
    async fn count(&self, key: &str, limit: u32, window: Duration) -> Result<Admission, AuthError>;

    /// Takes back a hit that [`RateLimits::count`] admitted with `stamp`.
    async fn uncount(&self, key: &str, stamp: UnixMicros) -> Result<(), AuthError>;

    /// Takes one token from the bucket under `key` (holding at most `burst`, refilled at
    /// `per_second`), or says how long until one is there.
    async fn take_token(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
    ) -> Result<Admission, AuthError>;

    /// Drops the counters that have ended, where the store keeps them in this process (see
    /// `CodeStore::remove_expired`). Redis expires keys itself.
    fn remove_expired(&self) {}
}

/// A duration in whole microseconds, the unit of every stamp (shared by both stores).
pub(crate) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// A refill rate per second as tokens per microsecond, never zero (shared by both stores).
pub(crate) fn per_micro(per_second: f64) -> f64 {
    per_second.max(1e-9) / 1e6
}
