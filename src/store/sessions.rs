//! Sessions, stored under a keyed digest of their token so the raw token is never kept.
use async_trait::async_trait;
use moka::future::Cache;

use super::expiry::{AtDeadline, Expires};
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
    /// How many sessions are live (for metrics and memory checks).
    fn entry_count(&self) -> u64;
}

/// The single-node store. Sessions die with the process; use the Redis store to keep them.
pub struct MokaSessionStore {
    cache: Cache<[u8; 32], Session>,
}

impl MokaSessionStore {
    pub fn new(max_entries: u64) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(AtDeadline)
                .build(),
        }
    }
}

#[async_trait]
impl SessionStore for MokaSessionStore {
    async fn create(&self, digest: Digest, session: Session) -> Result<(), AuthError> {
        self.cache.insert(digest.0, session).await;
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Session>, AuthError> {
        // moka drops expired entries lazily; the deadline check makes expiry exact.
        Ok(self
            .cache
            .get(&digest.0)
            .await
            .filter(|s| s.expires_at > now_micros()))
    }

    async fn revoke(&self, digest: &Digest) -> Result<(), AuthError> {
        self.cache.invalidate(&digest.0).await;
        Ok(())
    }

    fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}
