//! The referral graph: setting a user's inviter once, and listing whom a user invited.
use sqlx::FromRow;

use super::{
    database::{Database, db_error, on_pool},
    linker::{Link, Linker},
    rows::{UserRow, paginate},
    writer::Writer,
};
use crate::domain::{AuthError, InviteCode, Page, Referral, UnixMicros, User, UserId};

/// Whom `$1` invited, by ascending id after `$2`; a keyset scan of `users_inviter_id_id`.
pub(super) const REFERRALS_AFTER: &str = "SELECT id, phone_number, created_at AS joined_at, \
     invited_at FROM users WHERE inviter_id = $1 AND id > $2 ORDER BY id LIMIT $3";

/// A user just linked, with their new inviter.
#[derive(FromRow)]
pub(super) struct LinkedRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub inviter_id: i64,
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
    linker: Linker,
}

impl ReferralLinks {
    /// Reads go to `db`'s pool, links through `writer`, batched (see `linker.rs`). Needs a
    /// Tokio runtime.
    pub fn new(db: Database, writer: Writer) -> Self {
        Self {
            db,
            linker: Linker::start(writer),
        }
    }

    /// Links `user` to the owner of `code`, once. The check-and-write is one statement in a
    /// batch's transaction (`linker.rs`); on PostgreSQL it runs under the referral-graph lock.
    /// Either way concurrent calls (for one user, or A→B against B→A) serialise and each sees
    /// the graph the previous one left. Returns after the link committed: that is when a cache
    /// in front must forget both users.
    #[tracing::instrument(skip(self))]
    pub async fn set_inviter(
        &self,
        user: UserId,
        code: &InviteCode,
        now: UnixMicros,
    ) -> Result<InviterChange, AuthError> {
        let link = Link {
            user,
            code: code.clone(),
            now,
        };
        self.linker.link(link).await
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
