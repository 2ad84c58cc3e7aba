//! SetInviter by group commit (`group_commit.rs`). The links queued while the previous batch
//! committed are settled in one transaction, one after another: each is still the one
//! check-and-write statement [`LINK`], which reads the graph as the links before it in the
//! batch left it, so a cycle across two calls of one batch (A→B, then B→A) or a second inviter
//! for one user is refused exactly as across two transactions. Every caller is answered after
//! the commit that holds its link.
//!
//! A link used to be a transaction of its own: on SQLite its commit (WAL frames for the
//! changed pages, the write lock, the WAL index) was most of a SetInviter's cost.
use super::{
    group_commit::{GroupCommit, Settling},
    referral_links::{InviterChange, LinkedRow},
    writer::{SqliteWrite, Writer, begin_graph_write},
};
use crate::domain::{AuthError, InviteCode, UnixMicros, User, UserId};

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

/// Why a link was not made, asked right after [`LINK`] changed nothing, in its transaction.
pub(super) const DIAGNOSE: &str = "SELECT \
     (SELECT id FROM users WHERE invite_code = $1) AS inviter, \
     (SELECT i.invite_code FROM users u JOIN users i ON i.id = u.inviter_id WHERE u.id = $2) \
       AS current";

#[derive(sqlx::FromRow)]
struct Diagnosis {
    inviter: Option<i64>,
    current: Option<String>,
}

/// One SetInviter: link `user` to the owner of `code`, at `now`.
pub(super) struct Link {
    pub user: UserId,
    pub code: InviteCode,
    pub now: UnixMicros,
}

/// The queue to the linking task. Cheap to clone.
#[derive(Clone)]
pub(super) struct Linker {
    group: GroupCommit<Link, InviterChange>,
}

impl Linker {
    /// Starts the task that writes through `writer`. Needs a Tokio runtime.
    pub fn start(writer: Writer) -> Self {
        Self {
            group: GroupCommit::start(writer, settle_batch),
        }
    }

    /// Makes the link or says why not, after the commit that holds it.
    pub async fn link(&self, link: Link) -> Result<InviterChange, AuthError> {
        self.group.call(link).await
    }
}

fn settle_batch<'a>(writer: &'a Writer, links: &'a [Link]) -> Settling<'a, InviterChange> {
    // The same body on each backend (each type-checks it), as `on_pool!` does.
    macro_rules! in_one_transaction {
        ($tx:ident, $count_referrals:expr) => {{
            let mut changes = Vec::with_capacity(links.len());
            for link in links {
                let linked: Option<LinkedRow> = sqlx::query_as(LINK)
                    .bind(link.code.as_str())
                    .bind(link.now)
                    .bind(link.user)
                    .fetch_optional(&mut *$tx)
                    .await?;
                let change = match linked {
                    Some(LinkedRow { user, inviter_id }) => {
                        if $count_referrals {
                            sqlx::query(COUNT_REFERRAL)
                                .bind(inviter_id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        InviterChange::Set {
                            user: User::from(user),
                            inviter: inviter_id,
                        }
                    }
                    None => {
                        let diagnosis: Diagnosis = sqlx::query_as(DIAGNOSE)
                            .bind(link.code.as_str())
                            .bind(link.user)
                            .fetch_one(&mut *$tx)
                            .await?;
                        refusal(diagnosis, link)
                    }
                };
                changes.push(Ok(change));
            }
            $tx.commit().await?;
            Ok(changes)
        }};
    }
    Box::pin(async move {
        match writer {
            // The one writer connection: SQLite reads the graph under the write lock the
            // transaction holds from its first statement.
            Writer::Sqlite(connection) => {
                let mut write = SqliteWrite::lock(connection)
                    .await
                    .map_err(|_| sqlx::Error::PoolClosed)?;
                let mut tx = sqlx::Connection::begin(write.connection()).await?;
                // The trigger `users_count_referral` counts the referral.
                in_one_transaction!(tx, false)
            }
            // Under the referral-graph lock, so that concurrent batches (on this instance or
            // another) serialise and each sees the graph the previous one committed. No trigger
            // here (see COUNT_REFERRAL): the count moves in the same transaction.
            Writer::Postgres(pool) => {
                super::database::pg_bounded(pool, async {
                    let mut tx = begin_graph_write(pool).await?;
                    in_one_transaction!(tx, true)
                })
                .await
            }
        }
    })
}

/// Why nothing was linked. Every condition is monotonic (codes and links are never removed),
/// so what made [`LINK`] refuse still holds when asked after it. An inviter already set is
/// named first, whatever the code: a linked account cannot probe which codes exist.
fn refusal(diagnosis: Diagnosis, link: &Link) -> InviterChange {
    match diagnosis {
        Diagnosis {
            current: Some(current),
            ..
        } => InviterChange::AlreadySet(InviteCode::from_trusted(current)),
        Diagnosis { inviter: None, .. } => InviterChange::CodeNotFound,
        Diagnosis {
            inviter: Some(inviter),
            ..
        } if inviter == link.user => InviterChange::OwnCode,
        Diagnosis { .. } => InviterChange::WouldCycle,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{
        super::{Database, Users, scratch},
        *,
    };

    /// Links race in and across batches: pairs naming each other (A→B with B→A), and a user
    /// naming two inviters at once. Each pair gets exactly one link and one cycle refusal,
    /// each double-namer exactly one inviter, and every count matches the links made.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_links_in_one_batch_see_each_other() {
        let (_dir, db, writer) = scratch::sqlite().await;
        let users = Users::new(db.clone(), writer.clone());
        let mut made = Vec::new();
        for n in 0..300 {
            let (user, _) = users
                .find_or_register(&format!("+7912100{n:04}"), 1)
                .await
                .unwrap();
            made.push(user);
        }
        let linker = Arc::new(Linker::start(writer));
        let call = |user: &User, inviter: &User| {
            let linker = linker.clone();
            let link = Link {
                user: user.id,
                code: inviter.invite_code.clone(),
                now: 2,
            };
            tokio::spawn(async move { linker.link(link).await.unwrap() })
        };
        // Users 0..200 in pairs naming each other; 200..300 each naming 0 and 1 at once.
        let mut pairs = Vec::new();
        for pair in made[..200].chunks(2) {
            pairs.push((call(&pair[0], &pair[1]), call(&pair[1], &pair[0])));
        }
        let doubles: Vec<_> = made[200..]
            .iter()
            .map(|u| (call(u, &made[0]), call(u, &made[1])))
            .collect();
        for (a, b) in pairs {
            let outcomes = [a.await.unwrap(), b.await.unwrap()];
            assert!(
                one_linked_and_one(&outcomes, |c| *c == InviterChange::WouldCycle),
                "{outcomes:?}"
            );
        }
        for (a, b) in doubles {
            let outcomes = [a.await.unwrap(), b.await.unwrap()];
            assert!(
                one_linked_and_one(&outcomes, |c| matches!(c, InviterChange::AlreadySet(_))),
                "{outcomes:?}"
            );
        }
        let Database::Sqlite(pool) = &db else {
            unreachable!()
        };
        let (links, counted): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM users WHERE inviter_id IS NOT NULL), \
             (SELECT SUM(referral_count) FROM users)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!((links, counted), (200, 200));
    }

    /// Of two racing calls, one linked and the other was refused as `refused` says.
    fn one_linked_and_one(
        outcomes: &[InviterChange; 2],
        refused: fn(&InviterChange) -> bool,
    ) -> bool {
        let linked = |c: &InviterChange| matches!(c, InviterChange::Set { .. });
        (linked(&outcomes[0]) && refused(&outcomes[1]))
            || (refused(&outcomes[0]) && linked(&outcomes[1]))
    }
}
