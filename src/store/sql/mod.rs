//! The SQL layer: users and referral links, written through one writer and read through a
//! pool, on SQLite or PostgreSQL with the same statements.
mod database;
#[cfg(test)]
mod query_plans;
mod referral_links;
mod users;
pub(crate) mod writer;

pub use database::Database;
pub use referral_links::InviterChange;
pub use users::Users;
pub use writer::Writer;
