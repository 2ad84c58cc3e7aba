//! Issue #12's bench rows: GetProfile over REST/JSON and over gRPC-Web against native gRPC
//! GetProfile, on the same server, sessions and run (REST ≥ 0.5×, gRPC-Web ≥ 0.8×). Part of the
//! SQLite run; `--only web` runs these rows alone, with the native row measured beside them.
use std::sync::Arc;

use super::{
    throughput::{main_seed, profile_sessions},
    *,
};

const REST_TARGET: f64 = 0.5;
const GRPC_WEB_TARGET: f64 = 0.8;

/// The web rows alone: a server as deployed on a single node, its Check, native GetProfile,
/// then REST and gRPC-Web.
pub(super) async fn web_only(opts: &Opts, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== SQLite: GetProfile over REST and gRPC-Web");
    let (url, _) = fresh_sqlite(opts, "main", &main_seed(opts)).await?;
    let mut b = Bench::start(opts, &spec(opts, "sqlite", url)).await?;
    let db = "SQLite";
    b.check(report, db).await;
    let tokens = Arc::new(profile_sessions(&b).await?);
    let native = b
        .measure(
            "GetProfile (10 referrals, 1,000 users)",
            &|_| scenarios::get_profile(tokens.clone(), FEW_REFERRALS),
            u64::MAX,
        )
        .await;
    let native_rps = native.peak.rps();
    report.throughput(
        "GetProfile, 10 referrals, 1,000 users",
        db,
        native,
        b.ceiling,
        Some(0.6),
    );
    measure(&b, report, db, tokens, native_rps).await;
    b.stop().await
}

/// REST and gRPC-Web GetProfile, with their ratios to `native_rps` (native GetProfile's peak on
/// this server) as targets.
pub(super) async fn measure(
    b: &Bench<'_>,
    report: &mut Report,
    db: &str,
    tokens: Arc<Vec<Bearer>>,
    native_rps: f64,
) {
    let addr = b.server.addr;
    let rows = [
        (
            "GetProfile over REST/JSON (HTTP/1.1), 10 referrals, 1,000 users",
            "REST",
            REST_TARGET,
        ),
        (
            "GetProfile over gRPC-Web (binary, HTTP/1.1), 10 referrals, 1,000 users",
            "gRPC-Web",
            GRPC_WEB_TARGET,
        ),
    ];
    for (call, protocol, target) in rows {
        let make = |_| match protocol {
            "REST" => scenarios::rest_get_profile(addr, tokens.clone(), FEW_REFERRALS),
            _ => scenarios::grpc_web_get_profile(addr, tokens.clone(), FEW_REFERRALS),
        };
        let m = b
            .measure(&format!("GetProfile ({protocol})"), &make, u64::MAX)
            .await;
        let rps = m.peak.rps();
        report.throughput(call, db, m, b.ceiling, None);
        report.target(Target::ratio(
            &format!("GetProfile over {protocol} ÷ native gRPC GetProfile, same server and run"),
            rps,
            native_rps,
            "calls/s",
            "calls/s",
            target,
        ));
    }
}
