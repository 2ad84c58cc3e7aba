//! A sharded map whose entries carry their own deadline: the single-node home of the rate-limit
//! counters. A moka entry costs ~420 B of bookkeeping (docs/performance.md) and a per-key
//! compute takes microseconds; a counter here costs a 16-byte key and its value in a hash table
//! slot (32 B for a rate-limit counter, counter.rs; ~86 B per entry with the table's spare
//! room), and an update is a short lock on one of 64 shards. Codes and sessions stay in moka.
//!
//! Keys are kept as 128 bits of two keyed hashes (SipHash under per-process random keys) rather
//! than as strings: no allocation per key, and two keys collide with probability ~2^-128 per
//! pair (about 2^-87 among 2^20 live keys), which clients cannot steer without the keys.
use std::{
    collections::HashMap,
    hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState},
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
};

use super::expiry::Expires;
use crate::domain::UnixMicros;

const SHARDS: usize = 64;
/// Every this many updates, one shard is swept of its ended entries, so keys that are never
/// touched again go too. Amortised, a sweep costs a few comparisons per update.
const SWEEP_EVERY: usize = 1024;

type Shard<V> = HashMap<u128, V, BuildHasherDefault<AlreadyHashed>>;

pub struct ExpiringMap<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    /// The two halves of a key's hash; the first also picks its shard, so clients cannot aim
    /// at one shard either.
    hash_keys: (RandomState, RandomState),
    per_shard_cap: usize,
    updates: AtomicUsize,
}

impl<V: Expires> ExpiringMap<V> {
    /// A map of at most about `max_entries` live entries.
    pub fn new(max_entries: u64) -> Self {
        let max_entries = usize::try_from(max_entries).unwrap_or(usize::MAX);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hash_keys: (RandomState::new(), RandomState::new()),
            per_shard_cap: (max_entries / SHARDS).max(1),
            updates: AtomicUsize::new(0),
        }
    }

    /// Runs `update` on the live value under `key` (`None` when there is none or it has ended
    /// by `now`) while holding the key's shard, so that a read-modify-write is atomic per key.
    /// The value it leaves is stored; `None` removes the entry.
    pub fn update<R>(
        &self,
        key: &str,
        now: UnixMicros,
        update: impl FnOnce(Option<V>) -> (Option<V>, R),
    ) -> R {
        let (high, low) = (
            self.hash_keys.0.hash_one(key),
            self.hash_keys.1.hash_one(key),
        );
        let key = u128::from(high) << 64 | u128::from(low);
        let result = {
            let mut shard = lock(&self.shards[high as usize % SHARDS]);
            let current = shard.remove(&key).filter(|v| v.expires_at() > now);
            let (next, result) = update(current);
            if let Some(value) = next {
                if shard.len() >= self.per_shard_cap {
                    make_room(&mut shard, now, self.per_shard_cap);
                }
                shard.insert(key, value);
            }
            result
        };
        let n = self.updates.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(SWEEP_EVERY) {
            self.sweep((n / SWEEP_EVERY) % SHARDS, now);
        }
        result
    }

    /// Drops every ended entry.
    pub fn remove_expired(&self, now: UnixMicros) {
        for shard in 0..SHARDS {
            self.sweep(shard, now);
        }
    }

    /// Entries held, ended ones not yet swept included (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    fn sweep(&self, shard: usize, now: UnixMicros) {
        lock(&self.shards[shard]).retain(|_, value| value.expires_at() > now);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside an update leaves at worst one counter stale; the map stays usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A full shard first drops its ended entries; if all are live, one goes (moka's bounded cache
/// evicted too). The bound keeps memory finite; per-address limits keep it from being reached.
fn make_room<V: Expires>(shard: &mut Shard<V>, now: UnixMicros, cap: usize) {
    shard.retain(|_, value| value.expires_at() > now);
    if shard.len() >= cap
        && let Some(&victim) = shard.keys().next()
    {
        shard.remove(&victim);
    }
}

/// The map's own hasher: its keys are keyed hashes already, so their low half is the hash.
#[derive(Default)]
pub struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only u128 keys are hashed here; this is never reached, but must be correct.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Until(UnixMicros);

    impl Expires for Until {
        fn expires_at(&self) -> UnixMicros {
            self.0
        }
    }

    #[test]
    fn an_update_sees_the_live_value_and_an_ended_one_as_none() {
        let map = ExpiringMap::new(1000);
        map.update("k", 0, |old| {
            assert_eq!(old, None);
            (Some(Until(10)), ())
        });
        map.update("k", 9, |old| {
            assert_eq!(old, Some(Until(10)));
            (old, ())
        });
        map.update("k", 10, |old| {
            assert_eq!(old, None, "ended at its deadline");
            (None, ())
        });
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn ended_entries_are_swept_and_the_bound_holds() {
        let map = ExpiringMap::new(SHARDS as u64 * 100);
        for i in 0..(SHARDS * 1000) {
            map.update(&i.to_string(), 5, |_| (Some(Until(6)), ()));
        }
        assert!(map.len() <= SHARDS * 100, "{} entries", map.len());
        map.remove_expired(6);
        assert_eq!(map.len(), 0);
    }
}
