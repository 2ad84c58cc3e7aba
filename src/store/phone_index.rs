//! User ids by phone, so that the login of a known phone finds its cached profile without SQL.
//! Part of the profile cache ([`UserCache`](super::UserCache)), within its byte budget.
//!
//! A phone's user id never changes (users are neither deleted nor renumbered), so an entry
//! needs no expiry and no invalidation; the caller still checks that the profile it finds
//! under the id holds the phone. That makes this a plain bounded map: the phone's digits as a
//! u64 (see [`phone_key`]) to the id, 16 bytes in a hash table slot. As a moka cache it cost
//! ~400 B per phone, so a quarter of the default `USER_CACHE_MB=64` held ~40,000 phones and
//! repeat logins beyond them went to SQL (docs/performance.md); it now holds ~400,000.
use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{Mutex, MutexGuard},
};

use super::kv::phone_key;
use crate::domain::UserId;

const SHARDS: usize = 16;
/// Bytes a phone may cost: a 16-byte slot and its control byte, at hashbrown's lowest load
/// factor (7/16, just after the table doubled).
pub const BYTES_PER_PHONE: u64 = 40;

pub struct PhoneIndex {
    shards: Box<[Mutex<HashMap<u64, UserId>>]>,
    /// Picks a phone's shard; keyed per process, so that callers cannot aim at one shard.
    shard_of: RandomState,
    per_shard_cap: usize,
}

impl PhoneIndex {
    /// An index of at most about `max_bytes`.
    pub fn new(max_bytes: u64) -> Self {
        let phones = usize::try_from(max_bytes / BYTES_PER_PHONE).unwrap_or(usize::MAX);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_of: RandomState::new(),
            per_shard_cap: (phones / SHARDS).max(1),
        }
    }

    /// The user id of `phone` (E.164), if remembered.
    pub fn get(&self, phone: &str) -> Option<UserId> {
        let key = phone_key(phone).ok()?;
        self.shard(key).get(&key).copied()
    }

    /// Remembers `phone`'s user id. A full shard forgets an arbitrary phone first: a phone
    /// forgotten costs its next login one SQL read, nothing more.
    pub fn insert(&self, phone: &str, id: UserId) {
        let Ok(key) = phone_key(phone) else { return };
        let mut shard = self.shard(key);
        if shard.len() >= self.per_shard_cap
            && !shard.contains_key(&key)
            && let Some(&victim) = shard.keys().next()
        {
            shard.remove(&victim);
        }
        shard.insert(key, id);
    }

    fn shard(&self, key: u64) -> MutexGuard<'_, HashMap<u64, UserId>> {
        let index = self.shard_of.hash_one(key) as usize % SHARDS;
        // A panic while holding a shard cannot leave a half-written entry: use it as it is.
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Phones held (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_found_by_their_e164_and_non_e164_input_is_never_stored() {
        let index = PhoneIndex::new(1 << 20);
        index.insert("+79130000001", 1);
        index.insert("+79130000002", 2);
        index.insert("not a phone", 3);
        assert_eq!(index.get("+79130000001"), Some(1));
        assert_eq!(index.get("+79130000002"), Some(2));
        assert_eq!(index.get("+79130000003"), None);
        assert_eq!(index.get("not a phone"), None);
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn the_byte_budget_bounds_the_phones_held() {
        let budget = 1_000 * BYTES_PER_PHONE;
        let index = PhoneIndex::new(budget);
        for n in 0..10_000 {
            index.insert(&format!("+7913{n:07}"), n);
        }
        assert!(index.len() <= 1_000, "{} phones held", index.len());
        assert!(index.len() >= 900, "{} phones held", index.len());
        // Whatever is held is right.
        for n in 0..10_000 {
            if let Some(id) = index.get(&format!("+7913{n:07}")) {
                assert_eq!(id, n);
            }
        }
    }
}
