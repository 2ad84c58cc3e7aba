//! Persistence: users and referral links in SQL; pending codes and sessions in a key-value
//! store with TTLs (moka on a single node).
mod codes;
mod database;
mod expiry;
mod sessions;
mod users;

pub use codes::{CodeCheck, CodeStore, MokaCodeStore, PendingCode};
pub use database::Database;
pub use sessions::{MokaSessionStore, Session, SessionStore};
pub use users::{InviterChange, Users};
