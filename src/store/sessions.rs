//! Sessions, stored under a keyed digest of their token so the raw token is never kept.
use async_trait::async_trait;
use moka::{ops::compute::Op, sync::Cache};

use super::expiry::{Expires, deadline_cache};
use crate::domain::{AuthError, Digest, UnixMicros, UserId, now_micros};

/// A live session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    /// The user's phone in E.164 (immutable), so admin checks need no database read.
    pub phone_number: Box<str>,
    pub expires_at: UnixMicros,
}

impl Expires for Session {
    fn expires_at(&self) -> UnixMicros {
        self.expires_at
    }
}

/// Where sessions live.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    async fn create(&self, digest: Digest, session: Session) -> Result<(), AuthError>;
    /// The live session under `digest`, if any.
    async fn get(&self, digest: &Digest) -> Result<Option<Session>, AuthError>;
    /// Revokes the session; later lookups find nothing.
    async fn revoke(&self, digest: &Digest) -> Result<(), AuthError>;
    /// Revokes every session of `user`; returns how many were live.
    async fn revoke_all(&self, user: UserId) -> Result<u32, AuthError>;
    /// How many sessions are live (for metrics and memory checks).
    /// How many entries are live, where the store can tell cheaply (for metrics).
    fn entry_count(&self) -> Option<u64>;
}

/// The single-node store. Sessions die with the process; use the Redis store to keep them.
pub struct MokaSessionStore {
    cache: Cache<[u8; 32], Session>,
    /// Which sessions each user holds, for LogoutAll.
    by_user: Cache<UserId, UserSessions>,
}

/// The session digests of one user; lives as long as the user's newest session.
#[derive(Clone, Debug, Default)]
struct UserSessions {
    digests: Vec<[u8; 32]>,
    expires_at: UnixMicros,
}

impl Expires for UserSessions {
    fn expires_at(&self) -> UnixMicros {
        self.expires_at
    }
}

impl MokaSessionStore {
    pub fn new(max_entries: u64) -> Self {
        Self {
            cache: deadline_cache(max_entries),
            by_user: deadline_cache(max_entries),
        }
    }
}

#[async_trait]
impl SessionStore for MokaSessionStore {
    async fn create(&self, digest: Digest, session: Session) -> Result<(), AuthError> {
        let (user, expires_at) = (session.user_id, session.expires_at);
        self.cache.insert(digest.0, session);
        let cache = &self.cache;
        self.by_user.entry(user).and_compute_with(|entry| {
            let mut index = entry.map(|e| e.into_value()).unwrap_or_default();
            // Drop digests of sessions that ended, so the index stays as small as the user's
            // live sessions.
            index.digests.retain(|d| cache.contains_key(d));
            index.digests.push(digest.0);
            index.expires_at = index.expires_at.max(expires_at);
            Op::Put(index)
        });
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Session>, AuthError> {
        // moka drops expired entries lazily; the deadline check makes expiry exact.
        Ok(self
            .cache
            .get(&digest.0)
            .filter(|s| s.expires_at > now_micros()))
    }

    async fn revoke(&self, digest: &Digest) -> Result<(), AuthError> {
        self.cache.invalidate(&digest.0);
        Ok(())
    }

    async fn revoke_all(&self, user: UserId) -> Result<u32, AuthError> {
        let Some(index) = self.by_user.remove(&user) else {
            return Ok(0);
        };
        let mut revoked = 0;
        for digest in &index.digests {
            if self.cache.remove(digest).is_some() {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    fn entry_count(&self) -> Option<u64> {
        Some(self.cache.entry_count())
    }
}
