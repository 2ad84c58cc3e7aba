//! moka's own floor: what a bare moka cache costs per entry for keys and values of a given size,
//! built as our stores build theirs (bounded, with a time-to-live), with nothing else around
//! it. `store-memory` prints it beside each moka store, so the report shows
//! what is moka's and what is ours (issue #13).
use std::time::Duration;

use moka::sync::Cache;

/// A value of `N + 8` bytes (the stores' values carry an 8-byte deadline).
#[derive(Clone)]
pub struct Sized<const N: usize> {
    _expires_at: i64,
    _rest: [u8; N],
}

/// Fills a bare moka cache with `n` entries of keys `key(i)` and values of `N + 8` bytes, and
/// returns it (the caller reads RSS, then drops it).
pub fn fill<K, const N: usize>(n: u64, key: impl Fn(u64) -> K) -> Cache<K, Sized<N>>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
{
    let cache = Cache::builder()
        .max_capacity(super::store_memory::MAX_ENTRIES)
        .time_to_live(Duration::from_secs(300))
        .build();
    for i in 0..n {
        let value = Sized {
            _expires_at: i as i64,
            _rest: [i as u8; N],
        };
        cache.insert(key(i), value);
    }
    cache
}
