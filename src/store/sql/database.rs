//! The SQL database: embedded SQLite by default, PostgreSQL when DATABASE_URL says so.
//!
//! Both speak the same SQL here (`$N` placeholders, `RETURNING`, `ON CONFLICT`, recursive CTEs),
//! so every query is written once and run on either pool through [`on_pool!`].
use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{
    config::{redact_password, scrub_password},
    domain::AuthError,
};

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds. The body is type-checked
/// once per backend, so a query that does not suit both fails to compile.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Database::Sqlite($pool) => $body,
            $crate::store::Database::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Database {
    /// Connects and applies pending migrations. Migrations take a lock, so several instances
    /// starting at once apply them exactly once.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        // Errors show the URL with its password hidden, never the driver's text with it.
        let shown = redact_password(url);
        let scrubbed = |error: sqlx::Error| {
            anyhow::anyhow!(scrub_password(
                &format!("{:#}", anyhow::Error::new(error)),
                url
            ))
        };
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect(url)
                .await
                .map_err(scrubbed)
                .with_context(|| {
                    format!("cannot connect to PostgreSQL at {shown} (DATABASE_URL)")
                })?;
            sqlx::migrate!("./migrations/postgres")
                .run(&pool)
                .await
                .context("migrating PostgreSQL")?;
            Self::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(scrubbed)
                .with_context(|| format!("DATABASE_URL={shown} is not a valid sqlite: URL"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            // An embedded file cannot drop its connection, so the pool need not ping one
            // before handing it out: each ping is a round trip to the connection's thread.
            let pool = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(scrubbed)
                .with_context(|| {
                    format!("cannot open the SQLite database {shown} (DATABASE_URL)")
                })?;
            sqlx::migrate!("./migrations/sqlite")
                .run(&pool)
                .await
                .context("migrating SQLite")?;
            Self::Sqlite(pool)
        } else {
            anyhow::bail!(
                "DATABASE_URL={shown} must start with sqlite:, postgres:// or postgresql://"
            );
        };
        Ok(db)
    }

    /// Answers whether the database serves queries right now.
    pub async fn ping(&self) -> Result<(), AuthError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop).map_err(db_error))
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// Maps a database error: connectivity problems become UNAVAILABLE, the rest INTERNAL.
///
/// A connection cut mid-handshake or mid-message surfaces as a protocol error (e.g. an empty
/// answer to PostgreSQL's SSLRequest), and a server that is shutting down or full answers with
/// SQLSTATE class 08 (connection exception), 57P01–57P03 or 53300: all of them mean "the
/// database cannot serve right now", not a bug.
pub(crate) fn db_error(error: sqlx::Error) -> AuthError {
    use sqlx::Error::*;
    let unavailable = match &error {
        PoolTimedOut | PoolClosed | Io(_) | Tls(_) | WorkerCrashed | Protocol(_) => true,
        Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    };
    if unavailable {
        AuthError::Unavailable {
            what: "the database",
            source: error.into(),
        }
    } else {
        AuthError::Internal(anyhow::Error::new(error).context("database query failed"))
    }
}

/// True when `error` is a unique-constraint violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
