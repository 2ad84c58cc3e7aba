//! Data for the bench: users written straight into the server's database (after the server
//! created and migrated it), and the raw INSERT rate the registration path is compared with.
use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use rand::Rng;
use sqlx::{
    Connection, Executor, PgConnection, QueryBuilder, SqliteConnection,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// Phone ranges (the digits after +7), one per kind of phone, so runs never collide.
pub const SEEDED: u32 = 912;
/// Phones that RequestCode/VerifyCode register during the run.
pub const NEW: u32 = 913;
/// Phones that only hold pending codes in the memory test.
pub const PENDING: u32 = 914;
/// Rows of the raw INSERT measurement.
pub const RAW: u32 = 916;

/// A valid Russian mobile number in E.164: +7, a 9xx operator code, seven digits.
pub fn phone(range: u32, n: u64) -> String {
    debug_assert!(n < 10_000_000);
    format!("+7{range}{n:07}")
}

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// The invite code of seeded user `id`: a bijection of the id onto the 31^6 codes (multiplying
/// by a number prime to 31 permutes them), so codes are unique and look random.
pub fn invite_code(id: u64) -> String {
    const CODES: u64 = 31u64.pow(6);
    let mut n = (id % CODES) * 48_271_013 % CODES;
    let mut code = [0u8; 6];
    for c in code.iter_mut().rev() {
        *c = ALPHABET[(n % 31) as usize];
        n /= 31;
    }
    String::from_utf8(code.to_vec()).expect("ascii")
}

/// What to write: users 1..=users with phones `phone(SEEDED, id)`, and for each
/// `(inviter, first, count)` the users `first..first+count` invited by `inviter`.
pub struct Seed {
    pub users: u64,
    pub referrals: Vec<(u64, u64, u64)>,
}

/// A fixed registration time base (2026-01-01), one microsecond apart per user.
const CREATED_BASE: i64 = 1_767_225_600_000_000;

struct Row {
    phone: String,
    code: String,
    inviter: Option<i64>,
    invited_at: Option<i64>,
    referral_count: i64,
    created_at: i64,
}

impl Seed {
    fn row(&self, id: u64) -> Row {
        let inviter = self
            .referrals
            .iter()
            .find(|(_, first, count)| (*first..first + count).contains(&id))
            .map(|(inviter, ..)| *inviter as i64);
        let referral_count = self
            .referrals
            .iter()
            .filter(|(inviter, ..)| *inviter == id)
            .map(|(.., count)| *count as i64)
            .sum();
        let created_at = CREATED_BASE + id as i64 * 1000;
        Row {
            phone: phone(SEEDED, id),
            code: invite_code(id),
            inviter,
            invited_at: inviter.map(|_| created_at + 500),
            referral_count,
            created_at,
        }
    }
}

/// Rows per INSERT statement (6 values each: under SQLite's 32,766 and PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: u64 = 1000;
/// Rows per transaction.
const ROWS_PER_TRANSACTION: u64 = 100_000;

macro_rules! insert_users {
    ($conn:expr, $seed:expr, $db:ty) => {{
        let mut id = 1;
        while id <= $seed.users {
            let mut tx = $conn.begin().await?;
            let tx_end = (id + ROWS_PER_TRANSACTION).min($seed.users + 1);
            while id < tx_end {
                let end = (id + ROWS_PER_STATEMENT).min(tx_end);
                let mut insert = QueryBuilder::<$db>::new(
                    "INSERT INTO users (phone_number, invite_code, inviter_id, invited_at, \
                     referral_count, created_at) ",
                );
                insert.push_values((id..end).map(|i| $seed.row(i)), |mut b, row| {
                    b.push_bind(row.phone)
                        .push_bind(row.code)
                        .push_bind(row.inviter)
                        .push_bind(row.invited_at)
                        .push_bind(row.referral_count)
                        .push_bind(row.created_at);
                });
                insert.build().execute(&mut *tx).await?;
                id = end;
            }
            tx.commit().await?;
        }
        let (max, count): (i64, i64) = sqlx::query_as("SELECT MAX(id), COUNT(*) FROM users")
            .fetch_one(&mut $conn)
            .await?;
        let last: String = sqlx::query_scalar("SELECT phone_number FROM users WHERE id = $1")
            .bind(max)
            .fetch_one(&mut $conn)
            .await?;
        ensure!(
            max as u64 == $seed.users
                && count as u64 == $seed.users
                && last == phone(SEEDED, $seed.users),
            "seeded ids are not 1..={} (max {max}, count {count}): seed an empty, fresh database",
            $seed.users
        );
    }};
}

/// Writes `seed` into the (migrated, empty) users table at `url`, in id order, so that the
/// database numbers the users 1..=n. Returns how long it took.
pub async fn seed(url: &str, seed: &Seed) -> anyhow::Result<Duration> {
    let started = Instant::now();
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Off)
            .foreign_keys(true);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        insert_users!(conn, seed, sqlx::Sqlite);
        // Leave the file as a server would find it: WAL checkpointed into the main file.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        conn.close().await?;
    } else {
        let mut conn = PgConnection::connect(url)
            .await
            .context("connecting to PostgreSQL")?;
        insert_users!(conn, seed, sqlx::Postgres);
        conn.execute("VACUUM ANALYZE users").await?;
        conn.close().await?;
    }
    Ok(started.elapsed())
}

/// How fast the database takes the registration INSERT alone: the server's statement
/// (`INSERT … ON CONFLICT (phone_number) DO NOTHING RETURNING id`, one per autocommit
/// transaction), from `concurrency` tasks through a pool configured like the server's.
/// Runs `rows` inserts or for `limit`, whichever ends first; returns (rows, elapsed).
pub async fn raw_insert(
    url: &str,
    pool_size: u32,
    rows: u64,
    concurrency: usize,
    limit: Duration,
    pin_backends_to: Option<usize>,
) -> anyhow::Result<(u64, Duration)> {
    // `$p => $exec`: how a task holding `$p` (a clone of `$pool`) gets its executor.
    macro_rules! run {
        ($pool:expr, $p:ident => $exec:expr) => {{
            let pool = $pool;
            let next = Arc::new(AtomicU64::new(0));
            let done = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let stop_at = started + limit;
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let ($p, next, done) = (pool.clone(), next.clone(), done.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= rows || Instant::now() >= stop_at {
                            return Ok::<_, sqlx::Error>(());
                        }
                        loop {
                            let code = random_code();
                            let inserted: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
                                "INSERT INTO users (phone_number, invite_code, created_at) \
                                 VALUES ($1, $2, $3) ON CONFLICT (phone_number) DO NOTHING RETURNING id",
                            )
                            .bind(phone(RAW, i))
                            .bind(&code)
                            .bind(CREATED_BASE)
                            .fetch_optional($exec)
                            .await;
                            match inserted {
                                Ok(_) => break,
                                // An invite-code collision: retry with a new code, as the server does.
                                Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            for task in tasks {
                task.await??;
            }
            let elapsed = started.elapsed();
            Ok::<_, anyhow::Error>((done.load(Ordering::Relaxed), elapsed))
        }};
    }
    if url.starts_with("sqlite:") {
        // The server's SQLite settings (src/store/database.rs).
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        if pool_size == 0 {
            // As the server writes: one connection, writers queued on an async mutex.
            let connection = SqliteConnection::connect_with(&options).await?;
            let writer = Arc::new(tokio::sync::Mutex::new(connection));
            return run!(writer, w => &mut *w.lock().await);
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(Duration::from_secs(2))
            .connect_with(options)
            .await?;
        let result = run!(pool.clone(), p => &p);
        pool.close().await;
        result
    } else {
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await?;
        // Open every connection first, so that their server processes can be pinned.
        let mut open = Vec::new();
        for _ in 0..pool_size {
            open.push(pool.acquire().await?);
        }
        drop(open);
        if let Some(core) = pin_backends_to {
            pin_pg_backends(url, core).await?;
        }
        let result = run!(pool.clone(), p => &p);
        pool.close().await;
        result
    }
}

fn random_code() -> String {
    let mut rng = rand::rng();
    (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Pins the PostgreSQL server processes serving database `url` to `core` (the load
/// generator's), so that the database never competes with the server under test for its core.
pub async fn pin_pg_backends(url: &str, core: usize) -> anyhow::Result<usize> {
    let mut conn = PgConnection::connect(url).await?;
    let pids: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_all(&mut conn)
            .await?;
    conn.close().await?;
    for pid in &pids {
        std::process::Command::new("taskset")
            .args(["-pc", &core.to_string(), &pid.to_string()])
            .output()?;
    }
    Ok(pids.len())
}

/// Drops and creates the PostgreSQL database `name` on the server of `admin_url`; returns its URL.
pub async fn fresh_pg_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to {admin_url}"))?;
    admin
        .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
        .await?;
    admin
        .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
        .await?;
    admin.close().await?;
    let base = admin_url.split('?').next().unwrap_or(admin_url);
    let (server, _) = base
        .rsplit_once('/')
        .context("the PostgreSQL URL names a database")?;
    Ok(format!("{server}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_are_unique_and_well_formed() {
        let codes: std::collections::HashSet<String> = (1..=200_000).map(invite_code).collect();
        assert_eq!(codes.len(), 200_000);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| ALPHABET.contains(&b)))
        );
    }
}
