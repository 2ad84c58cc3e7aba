//! Users and referral links as the domain sees them.
use super::InviteCode;

/// Database id of a user.
pub type UserId = i64;

/// Microseconds since the Unix epoch, UTC. Stored as a plain integer in both databases so that
/// one set of queries serves SQLite and PostgreSQL.
pub type UnixMicros = i64;

/// A registered user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub phone_number: String,
    pub invite_code: InviteCode,
    /// The inviter's invite code, when one was set.
    pub invited_by: Option<InviteCode>,
    pub referral_count: u64,
    pub created_at: UnixMicros,
}

/// A user who entered someone's invite code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    pub id: UserId,
    pub phone_number: String,
    pub joined_at: UnixMicros,
    pub invited_at: UnixMicros,
}

/// A page of results plus the key after which the next page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<UserId>,
}

impl<T> Page<T> {
    /// A page with nothing in it and nothing after it.
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            next_after: None,
        }
    }
}

/// Who made an authenticated call; put into request extensions by the auth layer.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: UserId,
    /// The caller's phone in E.164.
    pub phone_number: String,
    /// Digest of the session token the call carried (what Logout revokes).
    pub session: super::Digest,
}
