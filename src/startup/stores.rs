//! Connecting the stores at start-up, retrying with backoff while a dependency is down.
use std::{future::Future, sync::Arc, time::Duration};

use tokio::time::Instant;

use crate::{
    config::StoresConfig,
    domain::Clock,
    store::{
        CodeStore, Database, MokaCodeStore, MokaRateLimits, MokaSessionStore, RateLimits, Redis,
        RedisCodeStore, RedisRateLimits, RedisSessionStore, SessionStore, UserCache, Writer,
    },
};

/// Upper bound on entries in each in-memory store; beyond it the least used are evicted.
const MAX_STORE_ENTRIES: u64 = 5_000_000;

/// The connected stores.
pub(super) struct Stores {
    pub db: Database,
    pub writer: Writer,
    pub redis: Option<Redis>,
    pub codes: Arc<dyn CodeStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub limits: Arc<dyn RateLimits>,
    pub user_cache: Option<UserCache>,
}

/// How long codes and sessions live: the single-node stores free them that long after writing.
pub(super) struct Lifetimes {
    pub code: Duration,
    pub session: Duration,
}

pub(super) async fn connect(
    config: &StoresConfig,
    lifetimes: Lifetimes,
    clock: &Clock,
) -> anyhow::Result<Stores> {
    let deadline = Instant::now() + config.startup_timeout;
    let db = retry("the database", deadline, || {
        Database::connect(
            &config.database_url,
            config.db_max_connections,
            config.db_acquire_timeout,
        )
    })
    .await?;
    let writer = Writer::open(&db).await?;
    let Some(url) = &config.redis_url else {
        tracing::info!("no REDIS_URL: codes, sessions and limits live in this process only");
        // Only an SQLite file written by this process alone can be cached without going stale.
        let user_cache =
            (matches!(db, Database::Sqlite(_)) && config.user_cache_bytes > 0).then(|| {
                UserCache::new(
                    config.user_cache_bytes,
                    config.user_cache_ttl,
                    crate::auth::DEFAULT_PAGE_SIZE,
                )
            });
        return Ok(Stores {
            user_cache,
            writer,
            db,
            redis: None,
            codes: Arc::new(MokaCodeStore::new(
                MAX_STORE_ENTRIES,
                lifetimes.code,
                clock.clone(),
            )),
            sessions: Arc::new(MokaSessionStore::new(
                MAX_STORE_ENTRIES,
                lifetimes.session,
                clock.clone(),
            )),
            limits: Arc::new(MokaRateLimits::new(MAX_STORE_ENTRIES, clock.clone())),
        });
    };
    let redis = retry("Redis", deadline, || {
        Redis::connect(url, &config.redis_key_prefix, config.redis_timeout)
    })
    .await?;
    Ok(Stores {
        db,
        writer,
        codes: Arc::new(RedisCodeStore::new(redis.clone())),
        sessions: Arc::new(RedisSessionStore::new(redis.clone(), clock.clone())),
        limits: Arc::new(RedisRateLimits::new(redis.clone())),
        redis: Some(redis),
        user_cache: None,
    })
}

/// Runs `connect` until it succeeds or `deadline` passes, doubling the pause (0.25 s … 8 s).
async fn retry<T, F, Fut>(what: &str, deadline: Instant, mut connect: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut pause = Duration::from_millis(250);
    for attempt in 1.. {
        match connect().await {
            Ok(value) => {
                if attempt > 1 {
                    tracing::info!(attempt, "connected to {what}");
                }
                return Ok(value);
            }
            Err(error) if Instant::now() + pause < deadline => {
                tracing::warn!(attempt, retry_in = ?pause, error = format!("{error:#}"), "{what} is unreachable; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(8));
            }
            Err(error) => {
                return Err(error.context(format!(
                    "gave up on {what} after {attempt} attempts (STARTUP_TIMEOUT_SECONDS)"
                )));
            }
        }
    }
    unreachable!("the loop returns")
}
