//! Users in SQL. Uniqueness is enforced by the database (unique indexes), never by
//! check-then-write. Plain queries: the profile cache sits in front, in `store::cached_users`.
use super::{
    database::{Database, db_error, is_unique_violation, on_pool},
    rows::{UserRow, paginate},
    writer::{Writer, on_writer},
};
use crate::domain::{AuthError, InviteCode, Page, UnixMicros, User, UserId};

/// Fresh invite codes tried before giving up; with 31^6 codes a collision is already rare.
const INVITE_CODE_ATTEMPTS: usize = 8;

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

pub(super) const USER_BY_PHONE: &str = select_user!(" WHERE u.phone_number = $1");
pub(super) const USER_BY_ID: &str = select_user!(" WHERE u.id = $1");
pub(super) const USERS_AFTER: &str = select_user!(" WHERE u.id > $1 ORDER BY u.id LIMIT $2");

/// A registration: the new row comes back whole (a new user has no inviter and no referrals),
/// so registering is one statement. A phone conflict returns no row.
pub(super) const INSERT_USER: &str = "INSERT INTO users (phone_number, invite_code, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (phone_number) DO NOTHING \
     RETURNING id, phone_number, invite_code, CAST(NULL AS TEXT) AS invited_by, \
     referral_count, created_at";

/// Queries on the users table.
#[derive(Clone)]
pub struct Users {
    db: Database,
    writer: Writer,
}

impl Users {
    /// Reads go to `db`'s pool, writes through `writer`.
    pub fn new(db: Database, writer: Writer) -> Self {
        Self { db, writer }
    }

    /// Registers `phone` with a fresh invite code, or returns the user another request
    /// registered with it first; the flag says whether this call created the user.
    /// Concurrent calls for one phone create one user (the phone's unique index decides).
    #[tracing::instrument(skip(self))]
    pub async fn register(&self, phone: &str, now: UnixMicros) -> Result<(User, bool), AuthError> {
        for _ in 0..INVITE_CODE_ATTEMPTS {
            let code = InviteCode::generate();
            let inserted: Result<Option<UserRow>, sqlx::Error> = on_writer!(&self.writer, conn => {
                sqlx::query_as(INSERT_USER)
                    .bind(phone)
                    .bind(code.as_str())
                    .bind(now)
                    .fetch_optional(conn)
                    .await
            });
            match inserted {
                Ok(Some(row)) => return Ok((User::from(row), true)),
                // Another request registered this phone first.
                Ok(None) => {
                    let user = self.by_phone(phone).await?.ok_or_else(|| {
                        AuthError::Internal(anyhow::anyhow!("user vanished after a phone conflict"))
                    })?;
                    return Ok((user, false));
                }
                // The phone conflict is absorbed above, so this is an invite-code collision.
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(db_error(e)),
            }
        }
        Err(AuthError::Internal(anyhow::anyhow!(
            "no free invite code after {INVITE_CODE_ATTEMPTS} attempts"
        )))
    }

    /// The user registered with `phone`, if any.
    #[tracing::instrument(skip(self))]
    pub async fn by_phone(&self, phone: &str) -> Result<Option<User>, AuthError> {
        let row: Option<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(USER_BY_PHONE).bind(phone).fetch_optional(pool).await
        })
        .map_err(db_error)?;
        Ok(row.map(User::from))
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
