//! Persistence, by role:
//! - `sql/`: users and the referral graph in SQLite or PostgreSQL (the durable data);
//! - `kv/`: pending codes, sessions and rate-limit counters behind traits, with two backends:
//!   `kv/moka/` in this process (a single node) and `kv/redis/` shared by several instances;
//! - `user_cache`: profiles held in memory in front of the SQL store, single node only;
//! - `cached_users`: the SQL stores read through that cache, which is all the use cases see.
mod cached_users;
mod kv;
mod phone_index;
pub(crate) mod sql;
mod user_cache;

pub use cached_users::CachedUsers;
pub use kv::{
    Admission, CodeCheck, CodeStore, MokaCodeStore, MokaRateLimits, MokaSessionStore, PendingCode,
    RateLimits, Redis, RedisCodeStore, RedisRateLimits, RedisSessionStore, Session, SessionStore,
};
pub use sql::{Database, InviterChange, Writer};
pub use user_cache::UserCache;
