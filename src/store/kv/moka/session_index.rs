//! Which sessions each user holds, so that LogoutAll can revoke (and count) them on a single
//! node. A plain sharded map: a second moka entry per user cost ~420 B (docs/performance.md),
//! this ~70 B (`loadgen store-memory`, table included; ~190 B with the 64-byte slot it had):
//! a user with one session is a 32-byte slot, their id beside the session's key and a coarse
//! deadline, nothing on the heap. It needs no per-key compute, only a short lock on one shard.
use std::{
    collections::{HashMap, hash_map::Entry},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use crate::domain::{UnixMicros, UserId};

const SHARDS: usize = 64;
/// Every this many additions, one shard is swept of users whose sessions all ended (so users
/// who never come back do not stay indexed forever). Amortised, a sweep costs nothing per call.
const SWEEP_EVERY: usize = 1024;

/// A session's key in the store (see sessions.rs) as two words: a u128 would align the slot to
/// 16 bytes and cost 16 more per user.
type Key = [u64; 2];

/// A session's deadline in whole seconds since the Unix epoch, rounded up (and held at the
/// u32 range, which ends in 2106): it only decides when the index may forget a session, so it
/// may be late but never early. Who counts revoked sessions reads their exact deadline from
/// the store (sessions.rs).
type Until = u32;

/// A user's sessions. Most users hold one: it is kept inline, where a one-slot SmallVec of
/// (key, deadline) pairs took 32 bytes and a u128 key with a 64-bit deadline 48.
#[derive(Debug)]
enum Held {
    One { key: Key, until: Until },
    Many(Box<[(Key, Until)]>),
}

impl Held {
    fn of(mut sessions: Vec<(Key, Until)>) -> Option<Self> {
        match sessions[..] {
            [] => None,
            [(key, until)] => Some(Held::One { key, until }),
            _ => {
                sessions.shrink_to_fit();
                Some(Held::Many(sessions.into_boxed_slice()))
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (Key, Until)> + '_ {
        let (one, many) = match self {
            Held::One { key, until } => (Some((*key, *until)), &[][..]),
            Held::Many(sessions) => (None, &sessions[..]),
        };
        one.into_iter().chain(many.iter().copied())
    }

    /// Drops the sessions that have ended by `now`; false when none is left.
    fn prune(&mut self, now: UnixMicros) -> bool {
        let Held::Many(sessions) = self else {
            return self.iter().all(|(_, until)| ends_after(until, now));
        };
        // A sweep passes every user of a shard: most keep all they hold, and copy nothing.
        if sessions.iter().all(|&(_, until)| ends_after(until, now)) {
            return true;
        }
        let live = sessions
            .iter()
            .copied()
            .filter(|&(_, until)| ends_after(until, now));
        match Held::of(live.collect()) {
            Some(live) => {
                *self = live;
                true
            }
            None => false,
        }
    }
}

fn until(expires_at: UnixMicros) -> Until {
    let seconds = expires_at.div_euclid(1_000_000) + i64::from(expires_at % 1_000_000 != 0);
    seconds.clamp(0, i64::from(Until::MAX)) as Until
}

fn ends_after(until: Until, now: UnixMicros) -> bool {
    i64::from(until) * 1_000_000 > now
}

fn key_of(key: u128) -> Key {
    [(key >> 64) as u64, key as u64]
}

fn key_from([high, low]: Key) -> u128 {
    u128::from(high) << 64 | u128::from(low)
}

type Shard = HashMap<UserId, Held>;

pub struct SessionIndex {
    shards: Box<[Mutex<Shard>]>,
    additions: AtomicUsize,
}

impl Default for SessionIndex {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            additions: AtomicUsize::new(0),
        }
    }
}

impl SessionIndex {
    fn shard(&self, user: UserId) -> std::sync::MutexGuard<'_, Shard> {
        let index = (user as u64 % SHARDS as u64) as usize;
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `user` holds the session under `key` until `expires_at`; `now` drops the
    /// user's sessions that have ended.
    pub fn add(&self, user: UserId, key: u128, expires_at: UnixMicros, now: UnixMicros) {
        let session = (key_of(key), until(expires_at));
        match self.shard(user).entry(user) {
            Entry::Vacant(entry) => {
                entry.insert(Held::One {
                    key: session.0,
                    until: session.1,
                });
            }
            Entry::Occupied(mut entry) => {
                let held = entry.get();
                let live = held.iter().filter(|&(_, until)| ends_after(until, now));
                let sessions = live.chain([session]).collect();
                *entry.get_mut() = Held::of(sessions).expect("holds the new session");
            }
        }
        let n = self.additions.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(SWEEP_EVERY) {
            self.sweep((n / SWEEP_EVERY) % SHARDS, now);
        }
    }

    /// Forgets `user`'s sessions and returns the keys of those that may still be live at `now`
    /// (all that are, and perhaps some that ended less than a second ago).
    pub fn take(&self, user: UserId, now: UnixMicros) -> Vec<u128> {
        let Some(held) = self.shard(user).remove(&user) else {
            return Vec::new();
        };
        held.iter()
            .filter(|&(_, until)| ends_after(until, now))
            .map(|(key, _)| key_from(key))
            .collect()
    }

    fn sweep(&self, shard: usize, now: UnixMicros) {
        let mut shard = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        shard.retain(|_, held| held.prune(now));
    }

    /// Users indexed right now (for tests).
    #[cfg(test)]
    fn users(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_s_live_sessions_are_taken_together_and_ended_ones_are_dropped() {
        let index = SessionIndex::default();
        let now = 1_000_000_000;
        let later = now + 60_000_000;
        index.add(7, 1, later, now);
        index.add(7, 2, now - 1, now);
        index.add(8, 3, later, now);
        assert_eq!(index.take(7, now), vec![1]);
        assert!(index.take(7, now).is_empty(), "taken once");
        assert_eq!(index.take(8, now), vec![3]);
    }

    #[test]
    fn a_user_with_one_session_takes_a_32_byte_slot() {
        assert_eq!(size_of::<Held>(), 24);
        assert_eq!(size_of::<(UserId, Held)>(), 32);
    }

    #[test]
    fn a_session_is_forgotten_no_sooner_than_its_deadline_and_within_a_second_after() {
        let index = SessionIndex::default();
        let expires_at = 1_000_000_000_500_000;
        for (user, now) in [
            (1, expires_at - 1),
            (2, expires_at),
            (3, expires_at + 499_999),
        ] {
            index.add(user, u128::MAX - 1, expires_at, 0);
            assert_eq!(index.take(user, now), vec![u128::MAX - 1], "at {now}");
        }
        index.add(4, 1, expires_at, 0);
        assert!(index.take(4, expires_at + 500_000).is_empty());
        assert_eq!(until(-1), 0);
        assert_eq!(until(UnixMicros::MAX), Until::MAX);
    }

    #[test]
    fn many_sessions_of_one_user_shrink_back_to_one_as_they_end() {
        let index = SessionIndex::default();
        let now = 1_000_000_000;
        for key in 0..50 {
            index.add(9, key, now + 1_000_000 * (key as i64 + 1), now);
        }
        let mut taken = index.take(9, now);
        taken.sort_unstable();
        assert_eq!(taken, (0..50).collect::<Vec<_>>());
        for key in 0..50 {
            index.add(9, key, now + 1_000_000 * (key as i64 + 1), now);
        }
        // A later login drops the 49 that have ended; one is kept inline beside the new one.
        index.add(9, 50, now + 100_000_000, now + 50_000_000 - 1);
        assert!(matches!(index.shard(9).get(&9), Some(Held::Many(s)) if s.len() == 2));
        index.sweep(9 % SHARDS, now + 50_000_000);
        assert!(matches!(index.shard(9).get(&9), Some(Held::One { .. })));
        assert_eq!(index.take(9, now + 50_000_000), vec![50]);
    }

    #[test]
    fn users_whose_sessions_all_ended_are_swept_away() {
        let index = SessionIndex::default();
        let now = 1_000_000_000;
        let past = now - 1;
        let added = 2 * SWEEP_EVERY * SHARDS;
        for user in 0..added as i64 {
            index.add(user, 0, past, now);
        }
        // Each shard was swept twice; only users added after its last sweep remain (about a
        // quarter; without sweeping all would).
        assert!(
            index.users() < added / 2,
            "{} of {added} users still indexed",
            index.users()
        );
    }
}
