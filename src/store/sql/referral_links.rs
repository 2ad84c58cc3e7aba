//! The referral graph: setting a user's inviter once, and listing whom a user invited.
use sqlx::FromRow;

use super::{
    database::{Database, db_error, on_pool, pg_bounded},
    rows::{UserRow, paginate},
    writer::{SqliteWrite, Writer, begin_graph_write},
};
use crate::domain::{AuthError, InviteCode, Page, Referral, UnixMicros, User, UserId};

/// Links `$3` to the owner of code `$1`, at time `$2`, if and only if: the code exists, it is
/// not `$3`'s own, `$3` has no inviter yet, and the link closes no cycle (walking up from the
/// inviter never meets `$3`). Returns the updated user, or no row. On SQLite the trigger
/// `users_count_referral` bumps the inviter's `referral_count` inside the same statement; on
/// PostgreSQL [`COUNT_REFERRAL`] follows in the same transaction.
pub(super) const LINK: &str = "WITH inviter AS (SELECT id FROM users WHERE invite_code = $1) \
     UPDATE users SET inviter_id = (SELECT id FROM inviter), invited_at = $2 \
     WHERE id = $3 AND inviter_id IS NULL \
       AND EXISTS (SELECT 1 FROM inviter WHERE id <> $3) \
       AND NOT EXISTS ( \
         WITH RECURSIVE chain (id, inviter_id) AS ( \
           SELECT id, inviter_id FROM users WHERE id = (SELECT id FROM inviter) \
           UNION ALL \
           SELECT u.id, u.inviter_id FROM users u JOIN chain c ON u.id = c.inviter_id \
         ) SELECT 1 FROM chain WHERE id = $3) \
     RETURNING id, phone_number, invite_code, $1 AS invited_by, referral_count, created_at, \
       inviter_id";

/// The inviter `$1` gained a referral. PostgreSQL has no trigger for this on purpose: during a
/// rolling deploy, instances of the previous release (which bump the count themselves) keep
/// writing to the migrated schema, and a trigger would count their links twice. An SQLite file
/// has one process, and an older binary refuses a database migrated past what it knows.
const COUNT_REFERRAL: &str = "UPDATE users SET referral_count = referral_count + 1 WHERE id = $1";

/// Why a link was not made, asked only after [`LINK`] changed nothing.
pub(super) const DIAGNOSE: &str = "SELECT \
     (SELECT id FROM users WHERE invite_code = $1) AS inviter, \
     (SELECT i.invite_code FROM users u JOIN users i ON i.id = u.inviter_id WHERE u.id = $2) \
       AS current";

/// Whom `$1` invited, by ascending id after `$2`; a keyset scan of `users_inviter_id_id`.
pub(super) const REFERRALS_AFTER: &str = "SELECT id, phone_number, created_at AS joined_at, \
     invited_at FROM users WHERE inviter_id = $1 AND id > $2 ORDER BY id LIMIT $3";

#[derive(FromRow)]
struct LinkedRow {
    #[sqlx(flatten)]
    user: UserRow,
    inviter_id: i64,
}

#[derive(FromRow)]
struct Diagnosis {
    inviter: Option<i64>,
    current: Option<String>,
}

#[derive(FromRow)]
struct ReferralRow {
    id: i64,
    phone_number: String,
    joined_at: i64,
    invited_at: i64,
}

/// The outcome of a SetInviter; each refusal maps to its own status.
#[derive(Debug, PartialEq, Eq)]
pub enum InviterChange {
    /// Linked: the user as they are now, and their new inviter (whose referrals changed too).
    Set {
        user: User,
        inviter: UserId,
    },
    CodeNotFound,
    OwnCode,
    AlreadySet(InviteCode),
    WouldCycle,
}

/// Queries on the referral graph (the `inviter_id` links between users).
#[derive(Clone)]
pub struct ReferralLinks {
    db: Database,
    writer: Writer,
}

impl ReferralLinks {
    /// Reads go to `db`'s pool, writes through `writer`.
    pub fn new(db: Database, writer: Writer) -> Self {
        Self { db, writer }
    }

    /// Links `user` to the owner of `code`, once. The check-and-write is one statement; on
    /// PostgreSQL it runs under the referral-graph lock. Either way concurrent calls (for one
    /// user, or A→B against B→A) serialise and each sees the graph the previous one left.
    /// Returns after the link committed: that is when a cache in front must forget both users.
    #[tracing::instrument(skip(self))]
    pub async fn set_inviter(
        &self,
        user: UserId,
        code: &InviteCode,
        now: UnixMicros,
    ) -> Result<InviterChange, AuthError> {
        let linked: Option<LinkedRow> = match &self.writer {
            // One statement on the one writer connection: it runs alone, and SQLite reads the
            // graph under the write lock it takes when the statement starts.
            Writer::Sqlite(writer) => {
                let mut write = SqliteWrite::lock(writer).await?;
                sqlx::query_as(LINK)
                    .bind(code.as_str())
                    .bind(now)
                    .bind(user)
                    .fetch_optional(write.connection())
                    .await
                    .map_err(db_error)?
            }
            Writer::Postgres(pool) => pg_bounded(pool, async {
                let mut tx = begin_graph_write(pool).await?;
                let linked: Option<LinkedRow> = sqlx::query_as(LINK)
                    .bind(code.as_str())
                    .bind(now)
                    .bind(user)
                    .fetch_optional(&mut *tx)
                    .await?;
                // No trigger here (see COUNT_REFERRAL): the count moves in the same transaction.
                if let Some(linked) = &linked {
                    sqlx::query(COUNT_REFERRAL)
                        .bind(linked.inviter_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(linked)
            })
            .await
            .map_err(db_error)?,
        };
        if let Some(LinkedRow { user, inviter_id }) = linked {
            return Ok(InviterChange::Set {
                user: User::from(user),
                inviter: inviter_id,
            });
        }
        // Nothing was linked. Every condition is monotonic (codes and links are never removed),
        // so what made the statement refuse still holds when asked now. An inviter already set
        // is named first, whatever the code: a linked account cannot probe which codes exist.
        let diagnosis: Diagnosis = on_pool!(&self.db, pool => {
            sqlx::query_as(DIAGNOSE).bind(code.as_str()).bind(user).fetch_one(pool).await
        })
        .map_err(db_error)?;
        Ok(match diagnosis {
            Diagnosis {
                current: Some(current),
                ..
            } => InviterChange::AlreadySet(InviteCode::from_trusted(current)),
            Diagnosis { inviter: None, .. } => InviterChange::CodeNotFound,
            Diagnosis {
                inviter: Some(inviter),
                ..
            } if inviter == user => InviterChange::OwnCode,
            Diagnosis { .. } => InviterChange::WouldCycle,
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
            sqlx::query_as(REFERRALS_AFTER)
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
}
