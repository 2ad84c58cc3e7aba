//! The SQL layer: users and referral links, written through one writer and read through a
//! pool, on SQLite or PostgreSQL with the same statements. Plain queries, no cache: the
//! profile cache is a wrapper in front (`store::cached_users`).
mod database;
mod group_commit;
mod linker;
#[cfg(test)]
mod query_plans;
mod referral_links;
mod registrar;
mod rows;
#[cfg(test)]
pub(crate) mod scratch;
mod users;
#[cfg(test)]
mod wal_checkpoints;
pub(crate) mod writer;

pub use database::Database;
pub use referral_links::{InviterChange, ReferralLinks};
pub use users::Users;
pub use writer::Writer;
