//! Users and referral links in SQL. Uniqueness and one-time updates are enforced by the
//! database (unique indexes, `WHERE inviter_id IS NULL`), never by check-then-write.
use sqlx::FromRow;

use super::database::{BeginWrite, Database, db_error, is_unique_violation, on_pool};
use crate::domain::{AuthError, InviteCode, Page, Referral, UnixMicros, User, UserId};

/// Fresh invite codes tried before giving up; with 31^6 codes a collision is already rare.
const INVITE_CODE_ATTEMPTS: usize = 8;

const SELECT_USER: &str = "SELECT u.id, u.phone_number, u.invite_code, i.invite_code AS invited_by, \
     u.referral_count, u.created_at FROM users u LEFT JOIN users i ON i.id = u.inviter_id";

#[derive(FromRow)]
struct UserRow {
    id: i64,
    phone_number: String,
    invite_code: String,
    invited_by: Option<String>,
    referral_count: i64,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            phone_number: row.phone_number,
            invite_code: InviteCode::from_trusted(row.invite_code),
            invited_by: row.invited_by.map(InviteCode::from_trusted),
            referral_count: row.referral_count.max(0) as u64,
            created_at: row.created_at,
        }
    }
}

#[derive(FromRow)]
struct ReferralRow {
    id: i64,
    phone_number: String,
    joined_at: i64,
    invited_at: i64,
}

/// Why an inviter could not be set; each maps to its own status.
#[derive(Debug, PartialEq, Eq)]
pub enum InviterChange {
    Set,
    CodeNotFound,
    OwnCode,
    AlreadySet(InviteCode),
    WouldCycle,
}

/// Queries on the users table.
#[derive(Clone, Debug)]
pub struct Users {
    db: Database,
}

impl Users {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The user with this phone, registering them if new. Returns whether they were created.
    /// Concurrent calls for one phone create one user (the phone's unique index decides).
    #[tracing::instrument(skip(self))]
    pub async fn find_or_create(
        &self,
        phone: &str,
        now: UnixMicros,
    ) -> Result<(User, bool), AuthError> {
        if let Some(user) = self.by_phone(phone).await? {
            return Ok((user, false));
        }
        for _ in 0..INVITE_CODE_ATTEMPTS {
            let code = InviteCode::generate();
            let inserted: Result<Option<i64>, sqlx::Error> = on_pool!(&self.db, pool => {
                sqlx::query_scalar(
                    "INSERT INTO users (phone_number, invite_code, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (phone_number) DO NOTHING RETURNING id",
                )
                .bind(phone)
                .bind(code.as_str())
                .bind(now)
                .fetch_optional(pool)
                .await
            });
            match inserted {
                Ok(Some(id)) => return Ok((self.by_id(id).await?, true)),
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

    #[tracing::instrument(skip(self))]
    pub async fn by_phone(&self, phone: &str) -> Result<Option<User>, AuthError> {
        let sql = format!("{SELECT_USER} WHERE u.phone_number = $1");
        let row: Option<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(phone).fetch_optional(pool).await
        })
        .map_err(db_error)?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip(self))]
    pub async fn by_id(&self, id: UserId) -> Result<User, AuthError> {
        let sql = format!("{SELECT_USER} WHERE u.id = $1");
        let row: Option<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })
        .map_err(db_error)?;
        row.map(User::from).ok_or_else(|| {
            AuthError::Unauthenticated("the session's user no longer exists; log in again")
        })
    }

    /// Users who entered `inviter`'s code, by ascending id, after `after`.
    #[tracing::instrument(skip(self))]
    pub async fn referrals(
        &self,
        inviter: UserId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Page<Referral>, AuthError> {
        let rows: Vec<ReferralRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, phone_number, created_at AS joined_at, invited_at FROM users \
                 WHERE inviter_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(inviter)
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await
        })
        .map_err(db_error)?;
        let items = rows
            .into_iter()
            .map(|r| Referral {
                id: r.id,
                phone_number: r.phone_number,
                joined_at: r.joined_at,
                invited_at: r.invited_at,
            })
            .collect();
        Ok(paginate(items, limit, |r| r.id))
    }

    /// All users by ascending id, after `after`.
    #[tracing::instrument(skip(self))]
    pub async fn list(&self, after: Option<UserId>, limit: u32) -> Result<Page<User>, AuthError> {
        let sql = format!("{SELECT_USER} WHERE u.id > $1 ORDER BY u.id LIMIT $2");
        let rows: Vec<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(after.unwrap_or(0)).bind(i64::from(limit) + 1).fetch_all(pool).await
        })
        .map_err(db_error)?;
        Ok(paginate(
            rows.into_iter().map(User::from).collect(),
            limit,
            |u| u.id,
        ))
    }

    /// Links `user` to the owner of `code`, once. The whole check-and-write runs under the
    /// referral-graph write lock, so concurrent calls (for one user, or A→B against B→A)
    /// serialise and each sees the graph the previous one left.
    #[tracing::instrument(skip(self))]
    pub async fn set_inviter(
        &self,
        user: UserId,
        code: &InviteCode,
        now: UnixMicros,
    ) -> Result<InviterChange, AuthError> {
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin_graph_write().await.map_err(db_error)?;
            let inviter: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE invite_code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
            let Some(inviter) = inviter else { return Ok(InviterChange::CodeNotFound) };
            if inviter == user {
                return Ok(InviterChange::OwnCode);
            }
            let current: Option<String> = sqlx::query_scalar(
                "SELECT i.invite_code FROM users u JOIN users i ON i.id = u.inviter_id WHERE u.id = $1",
            )
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
            if let Some(current) = current {
                return Ok(InviterChange::AlreadySet(InviteCode::from_trusted(current)));
            }
            // Walk up from the would-be inviter; meeting `user` means the link closes a cycle.
            let cycle: Option<i32> = sqlx::query_scalar(
                "WITH RECURSIVE chain (id, inviter_id) AS ( \
                     SELECT id, inviter_id FROM users WHERE id = $1 \
                     UNION ALL \
                     SELECT u.id, u.inviter_id FROM users u JOIN chain c ON u.id = c.inviter_id \
                 ) SELECT 1 FROM chain WHERE id = $2 LIMIT 1",
            )
            .bind(inviter)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
            if cycle.is_some() {
                return Ok(InviterChange::WouldCycle);
            }
            let updated = sqlx::query(
                "UPDATE users SET inviter_id = $1, invited_at = $2 WHERE id = $3 AND inviter_id IS NULL",
            )
            .bind(inviter)
            .bind(now)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            if updated.rows_affected() != 1 {
                return Err(AuthError::Internal(anyhow::anyhow!("inviter changed under the graph lock")));
            }
            sqlx::query("UPDATE users SET referral_count = referral_count + 1 WHERE id = $1")
                .bind(inviter)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            Ok(InviterChange::Set)
        })
    }
}

/// Trims the extra row fetched to learn whether another page follows.
fn paginate<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> UserId) -> Page<T> {
    let next_after = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_after }
}
