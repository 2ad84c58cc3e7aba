//! Sessions on a single node: a moka cache keyed by token digest, plus a per-user index for
//! LogoutAll.
use async_trait::async_trait;
use moka::sync::Cache;

use super::{
    expiry::{Expires, deadline_cache},
    session_index::SessionIndex,
};
use crate::{
    domain::{AuthError, Clock, Digest, UnixMicros, UserId},
    store::{Session, SessionStore},
};

impl Expires for Session {
    fn expires_at(&self) -> UnixMicros {
        self.expires_at
    }
}

/// The single-node store. Sessions die with the process; use the Redis store to keep them.
pub struct MokaSessionStore {
    cache: Cache<[u8; 32], Session>,
    /// Which sessions each user holds, for LogoutAll.
    by_user: SessionIndex,
    clock: Clock,
}

impl MokaSessionStore {
    pub fn new(max_entries: u64, clock: Clock) -> Self {
        Self {
            cache: deadline_cache(max_entries, clock.clone()),
            by_user: SessionIndex::default(),
            clock,
        }
    }
}

#[async_trait]
impl SessionStore for MokaSessionStore {
    async fn create(&self, digest: Digest, session: Session) -> Result<(), AuthError> {
        self.by_user.add(
            session.user_id,
            digest.0,
            session.expires_at,
            self.clock.now(),
        );
        self.cache.insert(digest.0, session);
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Session>, AuthError> {
        // moka drops expired entries lazily; the deadline check makes expiry exact.
        Ok(self
            .cache
            .get(&digest.0)
            .filter(|s| s.expires_at > self.clock.now()))
    }

    async fn revoke(&self, digest: &Digest) -> Result<(), AuthError> {
        self.cache.invalidate(&digest.0);
        Ok(())
    }

    async fn revoke_all(&self, user: UserId) -> Result<u32, AuthError> {
        let revoked = self
            .by_user
            .take(user, self.clock.now())
            .iter()
            .filter(|digest| self.cache.remove(*digest).is_some())
            .count();
        Ok(u32::try_from(revoked).unwrap_or(u32::MAX))
    }

    fn entry_count(&self) -> Option<u64> {
        Some(self.cache.entry_count())
    }
}
