//! Persistence: users and referral links in SQL; pending codes and sessions in a key-value
//! store with TTLs, and rate-limit counters (moka on a single node).
mod codes;
mod database;
mod expiry;
mod limits;
mod sessions;
mod users;

pub use codes::{CodeCheck, CodeStore, MokaCodeStore, PendingCode};
pub use database::Database;
pub use limits::{Admission, MokaRateLimits, RateLimits};
pub use sessions::{MokaSessionStore, Session, SessionStore};
pub use users::{InviterChange, Users};
