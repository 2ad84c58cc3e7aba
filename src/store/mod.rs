//! Persistence: users and referral links in SQL; pending codes and sessions in a key-value
//! store with TTLs, and rate-limit counters (moka on a single node, Redis when shared).
mod codes;
mod database;
mod expiry;
mod limits;
#[cfg(test)]
mod query_plans;
mod redis;
mod referral_links;
mod session_index;
mod sessions;
mod user_cache;
mod users;
pub(crate) mod writer;

pub use codes::{CodeCheck, CodeStore, MokaCodeStore, PendingCode};
pub use database::Database;
pub use limits::{Admission, MokaRateLimits, RateLimits};
pub use redis::{Redis, RedisCodeStore, RedisRateLimits, RedisSessionStore};
pub use referral_links::InviterChange;
pub use sessions::{MokaSessionStore, Session, SessionStore};
pub use user_cache::UserCache;
pub use users::Users;
pub use writer::Writer;
