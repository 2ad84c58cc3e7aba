//! Sessions on a single node: a moka cache keyed by token digest, plus a per-user index for
//! LogoutAll.
//!
//! Keys are the first 128 bits of the digest (an HMAC-SHA256 of the token under SECRET_KEY): a
//! forger must still hit a live session's key without the secret (about 2^-108 per guess with
//! a million sessions live), and two sessions share a key with probability ~2^-128 per pair.
//! Half the key bytes in moka and in the LogoutAll index, a million times over.
use std::time::Duration;

use async_trait::async_trait;
use moka::sync::Cache;

use super::{expiry::ttl_cache, packed::PackedSession, session_index::SessionIndex};
use crate::{
    domain::{AuthError, Clock, Digest, UserId},
    store::{Session, SessionStore},
};

/// The single-node store. Sessions die with the process; use the Redis store to keep them.
pub struct MokaSessionStore {
    cache: Cache<u128, PackedSession>,
    /// Which sessions each user holds, for LogoutAll.
    by_user: SessionIndex,
    clock: Clock,
}

impl MokaSessionStore {
    /// `ttl`: how long a session lives (SESSION_TTL_SECONDS).
    pub fn new(max_entries: u64, ttl: Duration, clock: Clock) -> Self {
        Self {
            cache: ttl_cache(max_entries, ttl),
            by_user: SessionIndex::default(),
            clock,
        }
    }
}

#[async_trait]
impl SessionStore for MokaSessionStore {
    async fn create(&self, digest: Digest, session: Session) -> Result<(), AuthError> {
        // Stored first, indexed second: a LogoutAll that runs in between misses this session
        // (it raced the login), but the next one finds it. Indexed first, a LogoutAll taking
        // the index before the insert would leave the session live and in no index at all.
        let (user, expires_at) = (session.user_id, session.expires_at);
        let key = key(&digest);
        self.cache.insert(key, PackedSession::pack(&session)?);
        self.by_user.add(user, key, expires_at, self.clock.now());
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Session>, AuthError> {
        // moka drops expired entries lazily; the deadline check makes expiry exact.
        Ok(self
            .cache
            .get(&key(digest))
            .filter(|s| s.expires_at > self.clock.now())
            .map(|s| s.unpack()))
    }

    async fn revoke(&self, digest: &Digest) -> Result<(), AuthError> {
        self.cache.invalidate(&key(digest));
        Ok(())
    }

    async fn revoke_all(&self, user: UserId) -> Result<u32, AuthError> {
        let now = self.clock.now();
        // The index keeps deadlines to the second, rounded up: the session's own deadline
        // decides whether it was live, so one that ended a moment ago is not counted.
        let revoked = self
            .by_user
            .take(user, now)
            .iter()
            .filter(|key| self.cache.remove(*key).is_some_and(|s| s.expires_at > now))
            .count();
        Ok(u32::try_from(revoked).unwrap_or(u32::MAX))
    }

    fn entry_count(&self) -> Option<u64> {
        Some(self.cache.entry_count())
    }

    fn remove_expired(&self) {
        self.cache.run_pending_tasks();
    }
}

fn key(digest: &Digest) -> u128 {
    let mut half = [0; 16];
    half.copy_from_slice(&digest.0[..16]);
    u128::from_le_bytes(half)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier, atomic::AtomicI64};

    use futures::executor::block_on;

    use super::*;

    /// A login racing a LogoutAll may land on either side of it, but it must be indexed by the
    /// time it can be found, so the next LogoutAll ends it: no session escapes every LogoutAll.
    #[test]
    fn a_session_created_while_logout_all_runs_does_not_escape_the_next_one() {
        let clock = Clock::manual();
        let store = Arc::new(MokaSessionStore::new(
            10_000,
            Duration::from_secs(60),
            clock.clone(),
        ));
        for round in 0..2_000u32 {
            let user = i64::from(round);
            let digest = Digest([0; 32]).with_suffix(round);
            let session = Session {
                user_id: user,
                phone_number: "+79120000001".into(),
                invite_code: None,
                expires_at: clock.after(std::time::Duration::from_secs(60)),
            };
            let start = Arc::new(Barrier::new(2));
            let logout_all = std::thread::spawn({
                let (store, start) = (store.clone(), start.clone());
                move || {
                    start.wait();
                    block_on(store.revoke_all(user)).unwrap()
                }
            });
            start.wait();
            block_on(store.create(digest, session)).unwrap();
            logout_all.join().unwrap();
            block_on(store.revoke_all(user)).unwrap();
            assert_eq!(
                block_on(store.get(&digest)).unwrap(),
                None,
                "round {round}: a session survived two LogoutAlls"
            );
        }
    }

    #[test]
    fn logout_all_counts_only_the_sessions_still_live() {
        // On a whole second, so that the first session's deadline is rounded up in the index.
        let clock = Clock::Manual(Arc::new(AtomicI64::new(1_700_000_000_000_000)));
        let store = MokaSessionStore::new(100, Duration::from_secs(60), clock.clone());
        for (n, lasts) in [
            (1, Duration::from_millis(500)),
            (2, Duration::from_secs(60)),
        ] {
            let session = Session {
                user_id: 5,
                phone_number: "+79120000001".into(),
                invite_code: None,
                expires_at: clock.after(lasts),
            };
            block_on(store.create(Digest([0; 32]).with_suffix(n), session)).unwrap();
        }
        // The first ended 100 ms ago, inside the second the index rounds its deadline up to.
        clock.advance(Duration::from_millis(600));
        assert_eq!(block_on(store.revoke_all(5)).unwrap(), 1);
        assert_eq!(block_on(store.revoke_all(5)).unwrap(), 0);
    }

    impl Digest {
        fn with_suffix(mut self, n: u32) -> Self {
            self.0[..4].copy_from_slice(&n.to_le_bytes());
            self
        }
    }
}
