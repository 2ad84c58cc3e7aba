//! The SQL database: embedded SQLite by default, PostgreSQL when DATABASE_URL says so.
//!
//! Both speak the same SQL here (`$N` placeholders, `RETURNING`, `ON CONFLICT`, recursive CTEs),
//! so every query is written once and run on either pool through [`on_pool!`].
use std::{future::Future, pin::Pin, str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    Executor, PgConnection, PgPool, SqlitePool,
    pool::PoolConnectionMetadata,
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

/// Runs `$body`, a query that yields `Result<_, sqlx::Error>`, with `$pool` bound to whichever
/// pool `$db` holds. The body is type-checked once per backend, so a query that does not suit
/// both fails to compile. On PostgreSQL the query is bounded by [`pg_bounded`].
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Database::Sqlite($pool) => $body,
            $crate::store::Database::Postgres($pool) => {
                $crate::store::sql::database::pg_bounded($pool, async { $body }).await
            }
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
                .after_connect(statement_timeout(acquire_timeout))
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
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))
            .map_err(db_error)
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// What `after_connect` runs on a new connection.
type SetUp<'c> = Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// Sets PostgreSQL's `statement_timeout` on each new connection to DB_ACQUIRE_TIMEOUT: a
/// statement stuck on a lock or a slow plan is cancelled by the server, and the connection
/// stays usable. (An SQLite statement runs in this process, on a local file.)
fn statement_timeout(
    timeout: Duration,
) -> impl Fn(&mut PgConnection, PoolConnectionMetadata) -> SetUp<'_> + Send + Sync + 'static {
    let set = format!("SET statement_timeout = {}", timeout.as_millis().max(1));
    move |connection, _| {
        let set = set.clone();
        Box::pin(async move { connection.execute(set.as_str()).await.map(drop) })
    }
}

/// Runs one PostgreSQL call (a query, or a whole short transaction) within the pool's acquire
/// timeout plus as long again for the statements: the most a call may take, whatever the
/// network does. `statement_timeout` alone does not suffice: when the server or the route to
/// it goes silent, its cancellation never arrives, and a running query would wait until the
/// client's deadline. Past the bound the call fails as an I/O timeout (UNAVAILABLE), and the
/// dropped connection is discarded by the pool.
pub(crate) async fn pg_bounded<T>(
    pool: &PgPool,
    call: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    let bound = pool.options().get_acquire_timeout() * 2;
    match tokio::time::timeout(bound, call).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer from PostgreSQL within {bound:?} (twice DB_ACQUIRE_TIMEOUT_SECONDS)"
            ),
        ))),
    }
}

/// Maps a database error: connectivity problems become UNAVAILABLE, the rest INTERNAL.
///
/// A connection cut mid-handshake or mid-message surfaces as a protocol error (e.g. an empty
/// answer to PostgreSQL's SSLRequest), and a server that is shutting down or full answers with
/// SQLSTATE class 08 (connection exception), 57P01–57P03 or 53300: all of them mean "the
/// database cannot serve right now", not a bug. So does 57014, a statement cancelled by
/// `statement_timeout`.
pub(crate) fn db_error(error: sqlx::Error) -> AuthError {
    use sqlx::Error::*;
    let unavailable = match &error {
        PoolTimedOut | PoolClosed | Io(_) | Tls(_) | WorkerCrashed | Protocol(_) => true,
        Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "53300" | "57014"
                )
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
