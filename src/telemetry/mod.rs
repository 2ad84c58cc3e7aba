//! What the service tells its operators: logs through `tracing`, metrics through Prometheus.
//!
//! The module is not called `metrics`, so that `metrics::counter!` everywhere names the crate.
mod logs;
mod prometheus;

pub use logs::init;
pub use prometheus::{
    CODES_PENDING, REFERRAL_LINKS, RPC_DURATION, RPC_REQUESTS, SESSIONS_LIVE, SMS_FAILED, SMS_SENT,
    THROTTLED, VERIFICATIONS, serve_metrics,
};
