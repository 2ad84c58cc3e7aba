//! Sessions, stored under a keyed digest of their token so the raw token is never kept.
use async_trait::async_trait;

use crate::domain::{AuthError, Digest, InviteCode, UnixMicros, UserId};

/// A live session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    /// The user's phone in E.164 (immutable), so admin checks need no database read.
    pub phone_number: Box<str>,
    /// The user's invite code (immutable), so Introspect answers from the session alone.
    /// `None` only for a Redis session written before the field existed: Introspect then reads
    /// the profile, and the session is not cut short by an upgrade.
    pub invite_code: Option<InviteCode>,
    pub expires_at: UnixMicros,
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
    /// How many entries are live, where the store can tell cheaply (for metrics).
    fn entry_count(&self) -> Option<u64>;

    /// Drops the entries whose deadline has passed (see `CodeStore::remove_expired`).
    fn remove_expired(&self) {}
}
