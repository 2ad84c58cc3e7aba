//! Prometheus metrics: the names of what the service counts (by RPC, status, provider and
//! limit), and the exporter that serves them.
//!
//! Callers record with the `metrics` crate's macros under these names; the RPC metrics are
//! recorded by the gRPC layer (`grpc::MetricsLayer`). Recording is always on and costs an
//! atomic add when nothing scrapes; the text exposition is served on METRICS_ADDR
//! (`GET /metrics`) only when that is set. One recorder serves the whole process, so several
//! in-process servers (tests) share it.
use std::{
    net::SocketAddr,
    sync::{Mutex, OnceLock},
};

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Calls by method and gRPC status code.
pub const RPC_REQUESTS: &str = "phoneauth_rpc_requests_total";
/// Call latency by method, in seconds.
pub const RPC_DURATION: &str = "phoneauth_rpc_duration_seconds";
/// Codes handed to a provider, by provider.
pub const SMS_SENT: &str = "phoneauth_sms_sent_total";
/// Codes a provider failed to take, by provider.
pub const SMS_FAILED: &str = "phoneauth_sms_failed_total";
/// VerifyCode outcomes: success, wrong_code.
pub const VERIFICATIONS: &str = "phoneauth_verifications_total";
/// Throttling refusals by limit.
pub const THROTTLED: &str = "phoneauth_throttled_total";
/// Referral links created by SetInviter.
pub const REFERRAL_LINKS: &str = "phoneauth_referral_links_total";
/// Live sessions and pending codes (in-memory stores only; Redis reports its own keyspace).
pub const SESSIONS_LIVE: &str = "phoneauth_sessions_live";
pub const CODES_PENDING: &str = "phoneauth_codes_pending";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns the handle that renders it.
fn handle() -> anyhow::Result<&'static PrometheusHandle> {
    // Two servers built at once in one process (the tests do) both found no handle and both
    // installed; the second install fails ("a recorder after the metrics system was already
    // initialized"). One installer at a time.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(RPC_DURATION.into()), LATENCY_BUCKETS)
        .context("metric buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    Ok(HANDLE.get_or_init(|| handle))
}

/// Serves `GET /metrics` on `addr` until the process ends; returns the bound address.
pub async fn serve_metrics(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let handle = handle()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on METRICS_ADDR={addr}"))?;
    let bound = listener.local_addr()?;
    // The recorder keeps histogram samples until upkeep folds them; without it they would grow
    // for as long as nobody scrapes.
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            ticker.tick().await;
            handle.run_upkeep();
        }
    });
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || async move { handle.render() }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "metrics endpoint failed");
        }
    });
    tracing::info!(addr = %bound, "serving Prometheus metrics on /metrics");
    Ok(bound)
}
