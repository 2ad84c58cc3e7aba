//! Where state lives: the SQL database, and Redis when several instances share state.
use std::{fmt, time::Duration};

use super::{ConfigError, env::Env, redact_password};

/// The default database: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://phone-auth.db?mode=rwc";

/// `Debug` shows the URLs with their passwords hidden.
#[derive(Clone)]
pub struct StoresConfig {
    pub database_url: String,
    pub db_max_connections: u32,
    /// How long a call waits for a pooled connection before answering UNAVAILABLE.
    pub db_acquire_timeout: Duration,
    /// Codes, sessions and limits go to Redis when set; moka (this process only) otherwise.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so that several deployments can share one Redis.
    pub redis_key_prefix: String,
    /// Connect and response timeout of Redis commands.
    pub redis_timeout: Duration,
    /// How long start-up keeps retrying an unreachable database or Redis before giving up.
    pub startup_timeout: Duration,
    /// How often the health probe checks the database and Redis.
    pub health_probe_interval: Duration,
    /// Memory for profiles cached in-process (0 turns the cache off). Used only in single-node
    /// mode (SQLite, no REDIS_URL), where this process is the only writer of the users.
    pub user_cache_bytes: u64,
    /// Longest a cached profile is served; bounds how long a row edited by hand stays unseen.
    pub user_cache_ttl: Duration,
}

impl StoresConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let redis_url = env.get("REDIS_URL");
        if let Some(url) = &redis_url
            && !["redis://", "rediss://", "unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            let accepts = "a redis://, rediss:// or unix:// URL";
            return Err(env.error("REDIS_URL", &redact_password(url), accepts));
        }
        Ok(Self {
            database_url: env
                .get("DATABASE_URL")
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            db_max_connections: env.number("DB_MAX_CONNECTIONS", 8, 1..=1000)? as u32,
            db_acquire_timeout: env.seconds("DB_ACQUIRE_TIMEOUT_SECONDS", 2)?,
            redis_url,
            redis_key_prefix: env
                .get("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| "phoneauth:".into()),
            redis_timeout: env.seconds("REDIS_TIMEOUT_SECONDS", 1)?,
            startup_timeout: env.seconds("STARTUP_TIMEOUT_SECONDS", 60)?,
            health_probe_interval: env.seconds("HEALTH_PROBE_INTERVAL_SECONDS", 1)?,
            user_cache_bytes: env.number("USER_CACHE_MB", 64, 0..=1 << 20)? << 20,
            user_cache_ttl: env.seconds("USER_CACHE_TTL_SECONDS", 300)?,
        })
    }
}

impl fmt::Debug for StoresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoresConfig")
            .field("database_url", &redact_password(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .field("redis_url", &self.redis_url.as_deref().map(redact_password))
            .field("redis_key_prefix", &self.redis_key_prefix)
            .field("redis_timeout", &self.redis_timeout)
            .field("startup_timeout", &self.startup_timeout)
            .field("health_probe_interval", &self.health_probe_interval)
            .field("user_cache_bytes", &self.user_cache_bytes)
            .field("user_cache_ttl", &self.user_cache_ttl)
            .finish()
    }
}
