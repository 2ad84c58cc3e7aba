//! moka's own floor: what a bare moka cache costs per entry for keys and values of a given size,
//! built as our stores build theirs (bounded, each entry expiring at its own deadline), with
//! nothing else around it. `store-memory` prints it beside each moka store, so the report shows
//! what is moka's and what is ours (issue #13).
use std::time::{Duration, Instant};

use moka::{Expiry, sync::Cache};

/// A value of `N + 8` bytes whose first 8 are its deadline, in microseconds from now.
#[derive(Clone)]
pub struct Sized<const N: usize> {
    expires_in: u64,
    _rest: [u8; N],
}

struct AtDeadline;

impl<K, const N: usize> Expiry<K, Sized<N>> for AtDeadline {
    fn expire_after_create(&self, _: &K, value: &Sized<N>, _: Instant) -> Option<Duration> {
        Some(Duration::from_micros(value.expires_in))
    }
}

/// Fills a bare moka cache with `n` entries of keys `key(i)` and values of `N + 8` bytes, and
/// returns it (the caller reads RSS, then drops it).
pub fn fill<K, const N: usize>(n: u64, key: impl Fn(u64) -> K) -> Cache<K, Sized<N>>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
{
    let cache = Cache::builder()
        .max_capacity(super::store_memory::MAX_ENTRIES)
        .expire_after(AtDeadline)
        .build();
    for i in 0..n {
        let value = Sized {
            expires_in: 300_000_000,
            _rest: [i as u8; N],
        };
        cache.insert(key(i), value);
    }
    cache
}
