//! Find-or-register by group commit (`group_commit.rs`). Every login that is not answered from
//! the profile cache comes here with its phone; a batch is settled in one transaction: one
//! multi-row `INSERT … ON CONFLICT DO NOTHING`, one read of the phones that already had a user,
//! one commit. Each caller is answered after the commit that holds its row, so an acknowledged
//! registration is durable (the SIGKILL test in tests/api/crash.rs holds us to it).
//!
//! A call used to be a read by phone on the pool, then an INSERT through the writer with its
//! own commit; SQLite commits one transaction at a time, so the commit per user was the floor.
use std::collections::{HashMap, HashSet};

use sqlx::QueryBuilder;

use super::{
    group_commit::{GroupCommit, Settling},
    rows::UserRow,
    users::{INSERT_USERS, RETURNING_NEW_USER, USERS_BY_PHONES},
    writer::{SqliteWrite, Writer},
};
use crate::domain::{AuthError, InviteCode, UnixMicros, User};

/// Rounds of fresh invite codes before a phone gives up; with 31^6 codes a collision is rare.
const INVITE_CODE_ATTEMPTS: usize = 8;

type Answer = Result<(User, bool), AuthError>;

/// A phone to find or register, at `now`.
struct Call {
    phone: String,
    now: UnixMicros,
}

/// The queue to the registration task. Cheap to clone; the task ends with the last clone.
#[derive(Clone)]
pub struct Registrar {
    group: GroupCommit<Call, (User, bool)>,
}

impl Registrar {
    /// Starts the task that writes through `writer`. Needs a Tokio runtime.
    pub fn start(writer: Writer) -> Self {
        Self {
            group: GroupCommit::start(writer, settle_batch),
        }
    }

    /// The user with `phone`, registered at `now` if new; the flag says whether this call
    /// created them. Calls for one phone, in one batch or not, create one user.
    pub async fn find_or_register(&self, phone: &str, now: UnixMicros) -> Answer {
        let call = Call {
            phone: phone.to_owned(),
            now,
        };
        self.group.call(call).await
    }
}

fn settle_batch<'a>(writer: &'a Writer, calls: &'a [Call]) -> Settling<'a, (User, bool)> {
    Box::pin(async move {
        let phones: Vec<(&str, UnixMicros)> =
            calls.iter().map(|c| (c.phone.as_str(), c.now)).collect();
        let mut users = settle(writer, &phones).await?;
        Ok(calls
            .iter()
            .map(|call| match users.get_mut(&call.phone) {
                // The first call for a phone takes "created"; any other in the batch finds the
                // user it made.
                Some((user, created)) => Ok((user.clone(), std::mem::take(created))),
                None => Err(AuthError::Internal(anyhow::anyhow!(
                    "no free invite code after {INVITE_CODE_ATTEMPTS} attempts"
                ))),
            })
            .collect())
    })
}

/// One transaction for `calls`: the users by phone, with whether this batch created them.
async fn settle(
    writer: &Writer,
    calls: &[(&str, UnixMicros)],
) -> Result<HashMap<String, (User, bool)>, sqlx::Error> {
    // The same body on each backend (each type-checks it), as `on_pool!` does.
    macro_rules! in_one_transaction {
        ($tx:ident) => {{
            let mut users = HashMap::with_capacity(calls.len());
            for _ in 0..INVITE_CODE_ATTEMPTS {
                let mut seen = HashSet::with_capacity(calls.len());
                let mut pending: Vec<(&str, UnixMicros)> = Vec::new();
                for &(phone, now) in calls {
                    if !users.contains_key(phone) && seen.insert(phone) {
                        pending.push((phone, now));
                    }
                }
                if pending.is_empty() {
                    break;
                }
                let mut insert = QueryBuilder::new(INSERT_USERS);
                insert.push_values(&pending, |mut row, &(phone, now)| {
                    let code = InviteCode::generate();
                    row.push_bind(phone)
                        .push_bind(code.as_str().to_owned())
                        .push_bind(now);
                });
                insert.push(RETURNING_NEW_USER);
                let created: Vec<UserRow> = insert.build_query_as().fetch_all(&mut *$tx).await?;
                for user in created.into_iter().map(User::from) {
                    users.insert(user.phone_number.clone(), (user, true));
                }
                pending.retain(|(phone, _)| !users.contains_key(*phone));
                if pending.is_empty() {
                    break;
                }
                // Phones that had a user already; any left after this drew a taken invite code.
                let mut select = QueryBuilder::new(USERS_BY_PHONES);
                let mut phones = select.separated(", ");
                for (phone, _) in &pending {
                    phones.push_bind(*phone);
                }
                select.push(")");
                let found: Vec<UserRow> = select.build_query_as().fetch_all(&mut *$tx).await?;
                for user in found.into_iter().map(User::from) {
                    users.insert(user.phone_number.clone(), (user, false));
                }
            }
            $tx.commit().await?;
            Ok(users)
        }};
    }
    match writer {
        Writer::Sqlite(connection) => {
            let mut write = SqliteWrite::lock(connection)
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            let mut tx = sqlx::Connection::begin(write.connection()).await?;
            in_one_transaction!(tx)
        }
        Writer::Postgres(pool) => {
            super::database::pg_bounded(pool, async {
                let mut tx = pool.begin().await?;
                in_one_transaction!(tx)
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{super::scratch, *};
    use crate::store::Database;

    /// Calls for the same phones race (many land in one batch, some in the next): each phone
    /// gets one user, created by exactly one call, and every call sees that user.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_calls_for_one_phone_create_one_user_in_or_across_batches() {
        let (_dir, db, writer) = scratch::sqlite().await;
        let registrar = Arc::new(Registrar::start(writer));
        let calls: Vec<_> = (0..400u32)
            .map(|n| {
                let registrar = registrar.clone();
                let phone = format!("+7912000{:04}", n % 40);
                tokio::spawn(async move {
                    let answer = registrar.find_or_register(&phone, 1).await.unwrap();
                    (phone, answer)
                })
            })
            .collect();
        let mut by_phone: HashMap<String, Vec<(User, bool)>> = HashMap::new();
        for call in calls {
            let (phone, answer) = call.await.unwrap();
            by_phone.entry(phone).or_default().push(answer);
        }
        assert_eq!(by_phone.len(), 40);
        for (phone, answers) in by_phone {
            let created = answers.iter().filter(|(_, created)| *created).count();
            assert_eq!(created, 1, "{phone}: {created} calls created its user");
            assert!(
                answers
                    .iter()
                    .all(|(user, _)| user.id == answers[0].0.id && user.phone_number == phone)
            );
        }
        let Database::Sqlite(pool) = &db else {
            unreachable!()
        };
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(rows, 40);
    }
}
