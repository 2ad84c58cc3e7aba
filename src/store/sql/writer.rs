//! Where statements that write go.
//!
//! SQLite runs one writer at a time. Left to a pool, concurrent writers race for the file's
//! lock and the losers poll for it in SQLite's busy handler, which sleeps 1, 2, 5, 10… ms
//! between tries: every collision becomes milliseconds of latency. So SQLite writes go through
//! one connection behind an async mutex, and queue there instead (first come, first served,
//! no polling). It is a bare connection rather than a pool of one, because a pool pings the
//! connection after every use (a round trip to its thread) while the next writer waits.
//! PostgreSQL writes concurrently: its pool serves.
use std::{sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::{Connection, PgPool, Postgres, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use super::{Database, database::db_error};
use crate::domain::AuthError;

#[derive(Clone, Debug)]
pub enum Writer {
    /// `None` once closed.
    Sqlite(Arc<Mutex<Option<SqliteConnection>>>),
    Postgres(PgPool),
}

impl Writer {
    /// Opens the writer beside `db`'s pool, with the same settings.
    pub async fn open(db: &Database) -> anyhow::Result<Self> {
        Ok(match db {
            Database::Sqlite(pool) => {
                // No checkpoints on commit: one would run (with its fsync) while the writer is
                // held, stalling every write queued behind it. `checkpoint_wal` runs them.
                let options = (*pool.connect_options())
                    .clone()
                    .pragma("wal_autocheckpoint", "0");
                let connection = SqliteConnection::connect_with(&options)
                    .await
                    .context("cannot open the SQLite database for writing (DATABASE_URL)")?;
                tokio::spawn(checkpoint_wal(pool.clone()));
                Self::Sqlite(Arc::new(Mutex::new(Some(connection))))
            }
            Database::Postgres(pool) => Self::Postgres(pool.clone()),
        })
    }

    /// Closes the SQLite connection (after the writes queued before it); later writes answer
    /// UNAVAILABLE. The PostgreSQL pool is closed with its [`Database`].
    pub async fn close(&self) {
        if let Self::Sqlite(connection) = self
            && let Some(connection) = connection.lock().await.take()
        {
            let _ = connection.close().await;
        }
    }
}

/// How often the WAL is copied back into the database file.
pub(super) const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

/// Checkpoints the WAL from a reader connection, beside the writer: PASSIVE mode copies what
/// no reader still needs and never blocks the writer, so the WAL file stays small (what is
/// written in one interval) without any write waiting on a checkpoint's fsync. Ends when the
/// pool is closed.
async fn checkpoint_wal(pool: SqlitePool) {
    let mut ticks = tokio::time::interval(CHECKPOINT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %error, "WAL checkpoint failed; retrying");
        }
    }
}

/// Exclusive use of the SQLite writer until dropped.
pub(crate) struct SqliteWrite<'a>(MutexGuard<'a, Option<SqliteConnection>>);

impl<'a> SqliteWrite<'a> {
    pub async fn lock(writer: &'a Mutex<Option<SqliteConnection>>) -> Result<Self, AuthError> {
        let guard = writer.lock().await;
        if guard.is_none() {
            return Err(db_error(sqlx::Error::PoolClosed));
        }
        Ok(Self(guard))
    }

    pub fn connection(&mut self) -> &mut SqliteConnection {
        self.0.as_mut().expect("checked in lock")
    }
}

/// Starts a PostgreSQL transaction that holds the referral-graph lock until it ends, so that
/// checks made inside it (cycle, inviter already set) stay true until commit. PostgreSQL's row
/// locks do not cover rows a statement only reads, so even one statement needs it there.
///
/// The isolation level is pinned to READ COMMITTED, whatever the database's
/// `default_transaction_isolation` says. The lock only helps if the statements after it read
/// the graph as it is once the lock is won, and only READ COMMITTED takes a fresh snapshot per
/// statement. Under REPEATABLE READ or SERIALIZABLE the snapshot is taken by the first
/// statement, which is the lock itself, while it is still waiting: a waiter would then check
/// for a cycle in the graph from before the holder's commit, so A→B and B→A could both commit
/// (REPEATABLE READ), or one of them would fail with a serialization error (SERIALIZABLE).
/// `SET TRANSACTION` takes no snapshot, so it can and must come first.
pub(crate) async fn begin_graph_write(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    /// Arbitrary constant naming the referral-graph lock.
    const REFERRAL_GRAPH_LOCK: i64 = 0x7068_6f6e_6561_7574; // "phoneaut"
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(REFERRAL_GRAPH_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
