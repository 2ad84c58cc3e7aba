//! Short-lived state with deadlines: pending codes, sessions and rate-limit counters. Each
//! trait sits in this folder beside the values it stores; `moka/` implements them in this
//! process, `redis/` in a Redis (or Valkey) shared by every instance.
mod codes;
pub(crate) mod limits;
mod moka;
mod redis;
mod sessions;

pub use codes::{CodeCheck, CodeStore, PendingCode};
pub use limits::{Admission, RateLimits};
pub(crate) use moka::phone_key;
pub use moka::{MokaCodeStore, MokaRateLimits, MokaSessionStore};
pub use redis::{Redis, RedisCodeStore, RedisRateLimits, RedisSessionStore};
pub use sessions::{Session, SessionStore};
