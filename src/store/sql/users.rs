//! Users in SQL. Uniqueness is enforced by the database (unique indexes), never by
//! check-then-write. Plain queries: the profile cache sits in front, in `store::cached_users`.
use super::{
    database::{Database, db_error, on_pool},
    registrar::Registrar,
    rows::{UserRow, paginate},
    writer::Writer,
};
use crate::domain::{AuthError, Page, UnixMicros, User, UserId};

/// A user with their inviter's code; `select_user!(" WHERE …")` appends the filter.
macro_rules! select_user {
    ($filter:literal) => {
        concat!(
            "SELECT u.id, u.phone_number, u.invite_code, i.invite_code AS invited_by, ",
            "u.referral_count, u.created_at FROM users u LEFT JOIN users i ON i.id = u.inviter_id",
            $filter
        )
    };
}

pub(super) const USER_BY_ID: &str = select_user!(" WHERE u.id = $1");
pub(super) const USERS_AFTER: &str = select_user!(" WHERE u.id > $1 ORDER BY u.id LIMIT $2");

/// Registrations, a batch per statement (`registrar.rs` appends the VALUES). A new user has no
/// inviter and no referrals, so the row comes back whole. `DO NOTHING` without a target skips
/// a row whose phone is taken (the user exists: read back with [`USERS_BY_PHONES`]) or whose
/// fresh invite code is (tried again with another), without failing the batch's transaction.
pub(super) const INSERT_USERS: &str = "INSERT INTO users (phone_number, invite_code, created_at) ";
pub(super) const RETURNING_NEW_USER: &str = " ON CONFLICT DO NOTHING \
     RETURNING id, phone_number, invite_code, CAST(NULL AS TEXT) AS invited_by, \
     referral_count, created_at";
/// The caller appends the phones' parameters and the closing parenthesis.
pub(super) const USERS_BY_PHONES: &str = select_user!(" WHERE u.phone_number IN (");

/// Queries on the users table.
#[derive(Clone)]
pub struct Users {
    db: Database,
    registrar: Registrar,
}

impl Users {
    /// Reads go to `db`'s pool, registrations through `writer`, batched (see `registrar.rs`).
    /// Needs a Tokio runtime.
    pub fn new(db: Database, writer: Writer) -> Self {
        Self {
            db,
            registrar: Registrar::start(writer),
        }
    }

    /// The user with `phone`, registering them at `now` if new; the flag says whether this
    /// call created them. Concurrent calls for one phone create one user. Answered after the
    /// commit that holds the row.
    #[tracing::instrument(skip(self))]
    pub async fn find_or_register(
        &self,
        phone: &str,
        now: UnixMicros,
    ) -> Result<(User, bool), AuthError> {
        self.registrar.find_or_register(phone, now).await
    }

    /// The user `id`; a missing one is a session that outlived its user.
    #[tracing::instrument(skip(self))]
    pub async fn by_id(&self, id: UserId) -> Result<User, AuthError> {
        let row: Option<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(USER_BY_ID).bind(id).fetch_optional(pool).await
        })
        .map_err(db_error)?;
        row.map(User::from).ok_or_else(|| {
            AuthError::Unauthenticated("the session's user no longer exists; log in again")
        })
    }

    /// All users by ascending id, after `after`.
    #[tracing::instrument(skip(self))]
    pub async fn list(&self, after: Option<UserId>, limit: u32) -> Result<Page<User>, AuthError> {
        let rows: Vec<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(USERS_AFTER).bind(after.unwrap_or(0)).bind(i64::from(limit) + 1).fetch_all(pool).await
        })
        .map_err(db_error)?;
        Ok(paginate(
            rows.into_iter().map(User::from).collect(),
            limit,
            |u| u.id,
        ))
    }
}
