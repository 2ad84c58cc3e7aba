//! Logging through `tracing`, filtered by RUST_LOG (default: info for this crate, warn else).
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber; LOG_FORMAT=json switches to JSON lines.
pub fn init() {
    // An empty RUST_LOG (a blank line in .env) counts as unset, not as "log nothing".
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("warn,phone_auth=info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Colours only on a terminal: files and CI logs get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(ansi);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A subscriber may already be installed (tests); keep it.
    let _ = result;
}
