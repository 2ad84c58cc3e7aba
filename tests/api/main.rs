//! The API tests: one binary, the real server, a real database (SQLite, or PostgreSQL when
//! TEST_DATABASE_URL is set).
mod helpers;

mod attacks;
mod auth_metadata;
mod limits;
mod list_users;
mod logout;
mod profile;
mod request_code;
mod set_inviter;
mod set_inviter_races;
mod tls;
mod transport;
mod verify_code;
