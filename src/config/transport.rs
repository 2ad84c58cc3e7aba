//! HTTP/2 and gRPC transport settings: deadlines, sizes, connection limits, the shutdown drain
//! and the browser origins allowed by CORS. Each is set explicitly on the server;
//! docs/operations.md explains how they interact.
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
    /// Time a new connection has to send its opening (the HTTP/2 client preface, or the head of
    /// its first HTTP/1.1 request; with TLS, to finish the TLS handshake) before it is closed.
    pub handshake_timeout: Duration,
    /// Connections open at once; past it, new connections wait in the listen backlog.
    pub max_connections: usize,
    /// After SIGTERM, how long calls in flight may take before every connection is closed.
    pub shutdown_grace: Duration,
    /// Browser origins (`scheme://host[:port]`) allowed to call by gRPC-Web; empty turns CORS
    /// off, and then no browser page on another origin can call at all.
    pub cors_allowed_origins: Vec<String>,
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
            cors_allowed_origins: env.parse_with(
                "CORS_ALLOWED_ORIGINS",
                "",
                "comma-separated origins, each exactly scheme://host[:port] as a browser sends \
                 it (http or https, lower case, no path, no default port), e.g. \
                 https://app.example.com; `*` is refused",
                |v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|origin| !origin.is_empty())
                        .map(|origin| is_origin(origin).then(|| origin.to_owned()))
                        .collect()
                },
            )?,
        })
    }
}

/// True for an origin exactly as a browser serializes it in the `Origin` header: an http or
/// https scheme, a lower-case host, and a port only when it is not the scheme's default. CORS
/// compares origins byte for byte, so anything else (a trailing slash, a path, upper case,
/// `:443`) would never match and silently allow nothing.
///
/// `*` and `null` are refused. With `*`, any web page could make its visitors' browsers call
/// RequestCode, each from the visitor's own address, and so spend the SMS budget past the
/// per-address limits; `null` is the origin of sandboxed frames and local files, which anyone
/// can produce.
fn is_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    let Ok(parsed) = authority.parse::<http::uri::Authority>() else {
        return false;
    };
    !authority.is_empty()
        && parsed.as_str() == authority
        && !authority.contains(['@', '/', '?', '#'])
        && !authority.bytes().any(|b| b.is_ascii_uppercase())
        && !authority.ends_with(default_port)
        && !authority.ends_with(':')
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
    fn cors_is_off_unless_origins_are_named() {
        assert!(read(&[]).unwrap().cors_allowed_origins.is_empty());
        let config = read(&[(
            "CORS_ALLOWED_ORIGINS",
            " https://app.example.com, http://localhost:3000,https://[::1]:8443 ",
        )])
        .unwrap();
        assert_eq!(
            config.cors_allowed_origins,
            [
                "https://app.example.com",
                "http://localhost:3000",
                "https://[::1]:8443"
            ]
        );
    }

    #[test]
    fn an_origin_a_browser_would_never_send_is_refused_by_name() {
        for origin in [
            "*",
            "null",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://App.Example.com",
            "HTTPS://app.example.com",
            "https://app.example.com:443",
            "http://app.example.com:80",
            "https://app.example.com:",
            "https://user@app.example.com",
            "ftp://app.example.com",
            "https://",
            "https://ok.example.com,*",
        ] {
            let error = read(&[("CORS_ALLOWED_ORIGINS", origin)]).unwrap_err();
            assert_eq!(error.var, "CORS_ALLOWED_ORIGINS", "{origin}");
        }
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
