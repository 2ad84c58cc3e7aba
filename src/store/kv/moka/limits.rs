//! Rate-limit counters on a single node: sliding logs and token buckets in a sharded map whose
//! entries expire at their own deadline, fixed-window budgets in a plain map.
use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;

use super::{
    counter::{Bucket, Counter},
    expiring_map::ExpiringMap,
};
use crate::{
    domain::{AuthError, Clock, UnixMicros},
    store::{
        Admission, RateLimits,
        kv::limits::{micros, per_micro},
    },
};

/// A fixed-window count. These serve service-wide budgets: a handful of hot keys, which a plain
/// map under a mutex updates in nanoseconds where moka's per-key compute takes microseconds.
#[derive(Clone, Copy, Debug, Default)]
struct FixedWindow {
    window_start: UnixMicros,
    count: u32,
}

/// The single-node store: counters updated under their shard's lock.
pub struct MokaRateLimits {
    counters: ExpiringMap<Counter>,
    fixed: Mutex<HashMap<Box<str>, FixedWindow>>,
    clock: Clock,
}

impl MokaRateLimits {
    pub fn new(max_entries: u64, clock: Clock) -> Self {
        Self {
            counters: ExpiringMap::new(max_entries),
            fixed: Mutex::default(),
            clock,
        }
    }
}

#[async_trait]
impl RateLimits for MokaRateLimits {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        min_gap: Duration,
    ) -> Result<Admission, AuthError> {
        let now = self.clock.now();
        let (window, gap) = (micros(window), micros(min_gap));
        let mut admission = Admission::Denied {
            retry_after: Duration::ZERO,
        };
        self.counters.update(key, now, |entry| {
            let mut stamps = entry.map(Counter::into_stamps).unwrap_or_default();
            // Kept for the longer of the two spans; the newest ones are the window's.
            stamps.retain(|&mut t| t > now - window.max(gap));
            let in_window = stamps
                .iter()
                .rev()
                .take_while(|&&t| t > now - window)
                .count();
            let last = stamps.last().copied();
            if let Some(last) = last.filter(|&last| gap > 0 && last > now - gap) {
                admission = Admission::TooSoon {
                    retry_after: Duration::from_micros((last + gap - now).max(1) as u64),
                };
            } else if in_window >= limit as usize {
                // Full: the window frees when its oldest hit ages out.
                let oldest = stamps[stamps.len() - limit as usize];
                admission = Admission::Denied {
                    retry_after: Duration::from_micros((oldest + window - now).max(1) as u64),
                };
            } else {
                // Stamps stay unique so a refund removes exactly its own hit.
                let stamp = last.map_or(now, |last| now.max(last + 1));
                stamps.push(stamp);
                admission = Admission::Allowed { stamp };
            }
            let expires_at = stamps.last().map_or(now, |&last| last + window.max(gap));
            (Counter::log(stamps, expires_at), ())
        });
        Ok(admission)
    }

    async fn refund(&self, key: &str, stamp: UnixMicros) -> Result<(), AuthError> {
        self.counters.update(key, self.clock.now(), |entry| {
            (entry.and_then(|counter| counter.without(stamp)), ())
        });
        Ok(())
    }

    async fn count(&self, key: &str, limit: u32, window: Duration) -> Result<Admission, AuthError> {
        let now = self.clock.now();
        let window = micros(window).max(1);
        let window_start = now - now.rem_euclid(window);
        let mut windows = self.fixed.lock().unwrap_or_else(|e| e.into_inner());
        let counter = windows.entry(key.into()).or_default();
        if counter.window_start != window_start {
            *counter = FixedWindow {
                window_start,
                count: 0,
            };
        }
        if counter.count >= limit {
            let wait = (window_start + window - now).max(1) as u64;
            return Ok(Admission::Denied {
                retry_after: Duration::from_micros(wait),
            });
        }
        counter.count += 1;
        Ok(Admission::Allowed {
            stamp: window_start,
        })
    }

    async fn uncount(&self, key: &str, stamp: UnixMicros) -> Result<(), AuthError> {
        let mut windows = self.fixed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counter) = windows.get_mut(key)
            && counter.window_start == stamp
        {
            counter.count = counter.count.saturating_sub(1);
        }
        Ok(())
    }

    async fn take_token(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
    ) -> Result<Admission, AuthError> {
        let now = self.clock.now();
        let burst = f64::from(burst.max(1));
        let per_micro = per_micro(per_second);
        let mut admission = Admission::Denied {
            retry_after: Duration::ZERO,
        };
        self.counters.update(key, now, |entry| {
            // The bucket's heap block is reused: no allocation once a key has one.
            let mut bucket = match entry {
                Some(Counter::Bucket(bucket)) => bucket,
                _ => Box::new(Bucket {
                    tokens: burst,
                    at: now,
                    expires_at: now,
                }),
            };
            let (tokens, at) = (bucket.tokens, bucket.at);
            let mut tokens = (tokens + (now - at).max(0) as f64 * per_micro).min(burst);
            if tokens >= 1.0 {
                tokens -= 1.0;
                admission = Admission::Allowed { stamp: now };
            } else {
                let wait = ((1.0 - tokens) / per_micro).ceil() as u64;
                admission = Admission::Denied {
                    retry_after: Duration::from_micros(wait.max(1)),
                };
            }
            // Once full again the bucket carries no information: let it expire.
            let full_in = ((burst - tokens) / per_micro).ceil() as i64;
            *bucket = Bucket {
                tokens,
                at: now,
                expires_at: now + full_in.max(1),
            };
            (Some(Counter::Bucket(bucket)), ())
        });
        Ok(admission)
    }

    fn remove_expired(&self) {
        self.counters.remove_expired(self.clock.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_window_admits_its_limit_then_refuses_until_the_oldest_hit_ages_out() {
        let limits = MokaRateLimits::new(100, Clock::manual());
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            assert!(matches!(
                limits.hit("k", 3, window, Duration::ZERO).await.unwrap(),
                Admission::Allowed { .. }
            ));
        }
        let Admission::Denied { retry_after } =
            limits.hit("k", 3, window, Duration::ZERO).await.unwrap()
        else {
            panic!("4th hit admitted")
        };
        assert!(
            retry_after > Duration::from_secs(59) && retry_after <= window,
            "{retry_after:?}"
        );
        assert!(matches!(
            limits
                .hit("other", 3, window, Duration::ZERO)
                .await
                .unwrap(),
            Admission::Allowed { .. }
        ));
    }

    #[tokio::test]
    async fn a_refund_frees_the_slot_it_took() {
        let limits = MokaRateLimits::new(100, Clock::manual());
        let window = Duration::from_secs(60);
        let Admission::Allowed { stamp } =
            limits.hit("k", 1, window, Duration::ZERO).await.unwrap()
        else {
            panic!()
        };
        assert!(matches!(
            limits.hit("k", 1, window, Duration::ZERO).await.unwrap(),
            Admission::Denied { .. }
        ));
        limits.refund("k", stamp).await.unwrap();
        assert!(matches!(
            limits.hit("k", 1, window, Duration::ZERO).await.unwrap(),
            Admission::Allowed { .. }
        ));
    }

    #[tokio::test]
    async fn a_fixed_window_counts_to_its_limit_and_uncount_gives_back() {
        let limits = MokaRateLimits::new(100, Clock::manual());
        let window = Duration::from_secs(3600);
        let Admission::Allowed { stamp } = limits.count("g", 2, window).await.unwrap() else {
            panic!()
        };
        assert!(matches!(
            limits.count("g", 2, window).await.unwrap(),
            Admission::Allowed { .. }
        ));
        assert!(matches!(
            limits.count("g", 2, window).await.unwrap(),
            Admission::Denied { .. }
        ));
        limits.uncount("g", stamp).await.unwrap();
        assert!(matches!(
            limits.count("g", 2, window).await.unwrap(),
            Admission::Allowed { .. }
        ));
    }

    #[tokio::test]
    async fn a_bucket_allows_its_burst_then_paces_at_the_refill_rate() {
        let limits = MokaRateLimits::new(100, Clock::manual());
        for _ in 0..5 {
            assert!(matches!(
                limits.take_token("ip", 5, 0.5).await.unwrap(),
                Admission::Allowed { .. }
            ));
        }
        let Admission::Denied { retry_after } = limits.take_token("ip", 5, 0.5).await.unwrap()
        else {
            panic!()
        };
        assert!(
            retry_after > Duration::from_millis(1900) && retry_after <= Duration::from_secs(2),
            "{retry_after:?}"
        );
    }

    #[tokio::test]
    async fn a_cooldown_refuses_a_hit_too_soon_after_the_last_and_says_so() {
        let limits = MokaRateLimits::new(100, Clock::manual());
        let (window, gap) = (Duration::from_secs(3600), Duration::from_secs(60));
        let Admission::Allowed { stamp } = limits.hit("p", 5, window, gap).await.unwrap() else {
            panic!()
        };
        let Admission::TooSoon { retry_after } = limits.hit("p", 5, window, gap).await.unwrap()
        else {
            panic!("a hit inside the gap must be TooSoon")
        };
        assert!(retry_after > Duration::from_secs(59) && retry_after <= gap);
        // Without a gap the same log counts against the window only.
        assert!(matches!(
            limits.hit("p", 5, window, Duration::ZERO).await.unwrap(),
            Admission::Allowed { .. }
        ));
        // A refund of the newest hit reopens the gap's check against the one before it.
        limits.refund("p", stamp).await.unwrap();
        assert!(matches!(
            limits.hit("p", 5, window, gap).await.unwrap(),
            Admission::TooSoon { .. }
        ));
    }

    #[tokio::test]
    async fn a_gap_longer_than_the_window_keeps_the_log_long_enough() {
        let clock = Clock::manual();
        let limits = MokaRateLimits::new(100, clock.clone());
        let (window, gap) = (Duration::from_millis(20), Duration::from_secs(60));
        limits.hit("q", 1, window, gap).await.unwrap();
        clock.advance(Duration::from_millis(40));
        assert!(matches!(
            limits.hit("q", 1, window, gap).await.unwrap(),
            Admission::TooSoon { .. }
        ));
    }

    #[tokio::test]
    async fn time_frees_the_window_refills_the_bucket_and_ends_the_cooldown() {
        let clock = Clock::manual();
        let limits = MokaRateLimits::new(100, clock.clone());
        let (window, gap) = (Duration::from_secs(60), Duration::from_secs(10));
        let admitted = |a: Admission| matches!(a, Admission::Allowed { .. });
        assert!(admitted(limits.hit("w", 1, window, gap).await.unwrap()));
        clock.advance(Duration::from_secs(11));
        assert!(!admitted(limits.hit("w", 1, window, gap).await.unwrap()));
        clock.advance(Duration::from_secs(50));
        assert!(admitted(limits.hit("w", 1, window, gap).await.unwrap()));

        assert!(admitted(limits.take_token("b", 1, 1.0).await.unwrap()));
        assert!(!admitted(limits.take_token("b", 1, 1.0).await.unwrap()));
        clock.advance(Duration::from_secs(1));
        assert!(admitted(limits.take_token("b", 1, 1.0).await.unwrap()));

        let hour = Duration::from_secs(3600);
        assert!(admitted(limits.count("g", 1, hour).await.unwrap()));
        assert!(!admitted(limits.count("g", 1, hour).await.unwrap()));
        clock.advance(hour);
        assert!(admitted(limits.count("g", 1, hour).await.unwrap()));
    }
}
