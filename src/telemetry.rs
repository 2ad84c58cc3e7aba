//! Logging through `tracing`, filtered by RUST_LOG (default: info for this crate, warn else).
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber; LOG_FORMAT=json switches to JSON lines.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,phone_auth=info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A subscriber may already be installed (tests); keep it.
    let _ = result;
}
