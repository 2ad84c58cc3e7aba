//! HTTP/2 and gRPC transport settings: deadlines, sizes, connection limits and the shutdown
//! drain. Each is set explicitly on the server; docs/operations.md explains how they interact.
use std::time::Duration;

use super::{ConfigError, env::Env};

/// HTTP/2 and gRPC transport limits, each set explicitly on the server.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Server-side deadline for every call; a shorter `grpc-timeout` from the client wins.
    pub request_timeout: Duration,
    /// Largest request message accepted by AuthService.
    pub max_request_bytes: usize,
    /// Calls in flight per connection; more wait.
    pub concurrency_per_connection: usize,
    /// HTTP/2 streams a client may open at once on one connection.
    pub max_concurrent_streams: u32,
    /// HTTP/2 PING interval that detects dead peers; 0 turns keepalive off.
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// Time a new connection has to send the HTTP/2 client preface (and, with TLS, to finish
    /// the TLS handshake) before it is closed.
    pub handshake_timeout: Duration,
    /// Connections open at once; past it, new connections wait in the listen backlog.
    pub max_connections: usize,
    /// After SIGTERM, how long calls in flight may take before every connection is closed.
    pub shutdown_grace: Duration,
}

impl TransportConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            request_timeout: env.seconds("REQUEST_TIMEOUT_SECONDS", 10)?,
            max_request_bytes: env.number("MAX_REQUEST_BYTES", 16 * 1024, 1024..=4 * 1024 * 1024)?
                as usize,
            concurrency_per_connection: env.number(
                "CONCURRENCY_PER_CONNECTION",
                256,
                1..=100_000,
            )? as usize,
            max_concurrent_streams: env.number("MAX_CONCURRENT_STREAMS", 256, 1..=100_000)? as u32,
            keepalive_interval: env.seconds_or_zero("HTTP2_KEEPALIVE_INTERVAL_SECONDS", 30)?,
            keepalive_timeout: env.seconds("HTTP2_KEEPALIVE_TIMEOUT_SECONDS", 10)?,
            handshake_timeout: env.seconds("HANDSHAKE_TIMEOUT_SECONDS", 10)?,
            max_connections: env.number("MAX_CONNECTIONS", 10_000, 1..=1_000_000)? as usize,
            shutdown_grace: env.seconds_or_zero("SHUTDOWN_GRACE_SECONDS", 20)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<TransportConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |name: &str| vars.get(name).cloned();
        TransportConfig::from_env(&Env(&lookup))
    }

    #[test]
    fn the_connection_and_shutdown_limits_have_bounded_defaults() {
        let config = read(&[]).unwrap();
        assert_eq!(config.handshake_timeout, Duration::from_secs(10));
        assert_eq!(config.max_connections, 10_000);
        // Orchestrators kill after their own stop timeout (Kubernetes: 30 s); the drain ends first.
        assert_eq!(config.shutdown_grace, Duration::from_secs(20));
    }

    #[test]
    fn a_zero_grace_closes_at_once_but_a_zero_handshake_or_cap_is_refused() {
        let config = read(&[("SHUTDOWN_GRACE_SECONDS", "0")]).unwrap();
        assert_eq!(config.shutdown_grace, Duration::ZERO);
        for (var, value) in [("HANDSHAKE_TIMEOUT_SECONDS", "0"), ("MAX_CONNECTIONS", "0")] {
            let error = read(&[(var, value)]).unwrap_err();
            assert_eq!(error.var, var);
        }
    }
}
