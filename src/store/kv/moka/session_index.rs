//! Which sessions each user holds, so that LogoutAll can revoke (and count) them on a single
//! node. A plain sharded map: a second moka entry per user cost ~420 B (docs/performance.md),
//! this ~100 B, and it needs no per-key compute, only a short lock on one shard.
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use smallvec::SmallVec;

use crate::domain::{UnixMicros, UserId};

const SHARDS: usize = 64;
/// Every this many additions, one shard is swept of users whose sessions all ended (so users
/// who never come back do not stay indexed forever). Amortised, a sweep costs nothing per call.
const SWEEP_EVERY: usize = 1024;

/// A session's key in the store (see sessions.rs) with its deadline.
type Indexed = (u128, UnixMicros);
/// Most users hold one session: it is kept inline (a Vec's first push allocates room for four,
/// 160 B on the heap per user).
type Held = SmallVec<[Indexed; 1]>;
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
        {
            let mut shard = self.shard(user);
            let sessions = shard.entry(user).or_default();
            sessions.retain(|&mut (_, deadline)| deadline > now);
            sessions.push((key, expires_at));
        }
        let n = self.additions.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(SWEEP_EVERY) {
            self.sweep((n / SWEEP_EVERY) % SHARDS, now);
        }
    }

    /// Forgets `user`'s sessions and returns the keys of those that may still be live at `now`.
    pub fn take(&self, user: UserId, now: UnixMicros) -> Vec<u128> {
        self.shard(user)
            .remove(&user)
            .unwrap_or_default()
            .into_iter()
            .filter(|&(_, deadline)| deadline > now)
            .map(|(key, _)| key)
            .collect()
    }

    fn sweep(&self, shard: usize, now: UnixMicros) {
        let mut shard = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        shard.retain(|_, sessions| {
            sessions.retain(|&mut (_, deadline)| deadline > now);
            !sessions.is_empty()
        });
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
