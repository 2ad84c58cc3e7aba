//! Pending verification codes: only an HMAC of each code is kept, with its tries left.
use async_trait::async_trait;

use crate::domain::{AuthError, Digest, UnixMicros};

/// A code waiting to be entered.
#[derive(Clone, Debug)]
pub struct PendingCode {
    pub digest: Digest,
    pub attempts_left: u32,
    pub expires_at: UnixMicros,
}

/// What checking a code found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code matched and has been consumed.
    Accepted,
    /// The code did not match; `attempts_left` tries remain (0: the code is now destroyed).
    Rejected { attempts_left: u32 },
    /// No live code for this phone: never sent, expired, used or destroyed.
    Missing,
}

/// Where pending codes live, keyed by E.164 phone number.
#[async_trait]
pub trait CodeStore: Send + Sync + 'static {
    /// Stores a code for the phone, replacing any earlier one.
    async fn put(&self, phone: &str, code: PendingCode) -> Result<(), AuthError>;

    /// Checks `digest` against the phone's code atomically: a match consumes the code (so of
    /// two concurrent correct attempts exactly one is accepted); a miss spends one try and
    /// destroys the code when none are left.
    async fn check(&self, phone: &str, digest: Digest) -> Result<CodeCheck, AuthError>;

    /// How many entries are live, where the store can tell cheaply (for metrics).
    fn entry_count(&self) -> Option<u64>;

    /// Drops the entries whose deadline has passed, where the store keeps them in this
    /// process: moka removes expired entries only during later writes, so without this the
    /// count stays where the last write left it. May take a while; call it off the runtime's
    /// threads. Redis expires keys itself.
    fn remove_expired(&self) {}
}
