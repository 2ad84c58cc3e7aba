//! The shared store for several instances: pending codes, sessions and rate-limit counters in
//! Redis (or Valkey), with native TTLs and Lua scripts wherever a check-and-update must be
//! atomic. Only keyed digests of codes and tokens are stored, never the raw values.
//!
//! Every script touches keys of one logical record; Redis Cluster is not supported (use a
//! primary with replicas and Sentinel, or Valkey).
mod codes;
mod limits;
mod sessions;

use std::time::Duration;

use anyhow::Context;
use redis::{Client, aio::ConnectionManager, aio::ConnectionManagerConfig};

use crate::{
    config::{redact_password, scrub_password},
    domain::AuthError,
};

/// A connection to Redis plus the prefix every key starts with.
///
/// `ConnectionManager` multiplexes all calls over one connection, pipelining them, and
/// reconnects by itself after an outage; it is cheap to clone.
#[derive(Clone)]
pub struct Redis {
    connection: ConnectionManager,
    prefix: String,
    /// REDIS_TIMEOUT: the most any one command may take, reconnects included (see
    /// [`Redis::bounded`]).
    timeout: Duration,
}

impl Redis {
    /// Connects once; the caller retries with backoff while Redis is down. `rediss://` speaks
    /// TLS (rustls, verified against the system's trust store). Errors show the URL with its
    /// password hidden, and never the driver's text with the password in it.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<Self> {
        // The redis crate's rustls has no bundled provider: ring is the one tonic, sqlx and
        // reqwest use, and an error here only means a provider was installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let shown = redact_password(url);
        let scrubbed = |error: redis::RedisError| {
            anyhow::anyhow!(scrub_password(
                &format!("{:#}", anyhow::Error::new(error)),
                url
            ))
        };
        let client = Client::open(url)
            .map_err(scrubbed)
            .with_context(|| format!("REDIS_URL={shown} is not a valid redis:// URL"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(scrubbed)
            .with_context(|| format!("cannot connect to Redis at {shown} (REDIS_URL)"))?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    pub(crate) fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    pub(crate) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Answers whether Redis serves commands right now.
    pub async fn ping(&self) -> Result<(), AuthError> {
        self.bounded(redis::cmd("PING").query_async::<String>(&mut self.connection()))
            .await
            .map(drop)
    }

    /// Runs one command (or pipeline, or script) within REDIS_TIMEOUT, mapping its error.
    ///
    /// The connection manager's own timeouts bound each network step, not the call: a command
    /// that finds the connection broken waits for the reconnect (its connect timeout, a retry
    /// and the pause between them) before its own response timeout starts. A blackholed Redis
    /// held one login for 3 s with REDIS_TIMEOUT_SECONDS=1. This bound is the whole call's.
    pub(crate) async fn bounded<T>(
        &self,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, AuthError> {
        match tokio::time::timeout(self.timeout, command).await {
            Ok(result) => result.map_err(redis_error),
            Err(_) => Err(AuthError::Unavailable {
                what: "Redis",
                source: anyhow::anyhow!(
                    "no answer within {:?} (REDIS_TIMEOUT_SECONDS)",
                    self.timeout
                ),
            }),
        }
    }
}

/// Maps a Redis error: connectivity problems become UNAVAILABLE, the rest INTERNAL.
pub(crate) fn redis_error(error: redis::RedisError) -> AuthError {
    if error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
    {
        AuthError::Unavailable {
            what: "Redis",
            source: error.into(),
        }
    } else {
        AuthError::Internal(anyhow::Error::new(error).context("Redis command failed"))
    }
}

/// Prelude of the limit scripts. `now` is the Redis server's clock in microseconds, so every
/// instance measures windows by one clock. `int` formats a number as an integer string: Lua
/// would otherwise hand Redis large numbers as "1.7329344e+15", losing digits.
pub(crate) const LUA_NOW: &str = "local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%d', x) end";

pub use codes::RedisCodeStore;
pub use limits::RedisRateLimits;
pub use sessions::RedisSessionStore;
