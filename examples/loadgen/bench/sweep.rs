//! Latency against rate, ad hoc: where does the tail come from?
use std::{process::Command, sync::Arc};

use super::*;

/// Latency against rate for Check and GetProfile on a small SQLite database: open loops at
/// each of `rates` (for finding where the tail comes from; not part of the table).
pub async fn sweep(opts: &Opts, rates: &[f64]) -> anyhow::Result<()> {
    std::fs::create_dir_all(&opts.dir)?;
    let seed = Seed {
        users: opts.small_users,
        referrals: vec![(2, 3, FEW_REFERRALS)],
    };
    let (url, _) = fresh_sqlite(opts, "sweep", &seed).await?;
    let b = Bench::start(opts, &spec(opts, "sweep", url)).await?;
    let cpu = b.server.cpu_clock();
    let tokens = Arc::new(b.sessions_of(2, opts.connections, FEW_REFERRALS).await?);
    let calls: [(&str, Op); 2] = [
        ("Health/Check", scenarios::health_check()),
        ("GetProfile", scenarios::get_profile(tokens, FEW_REFERRALS)),
    ];
    // SWEEP_METRICS=http://…/metrics (with BENCH_SERVER_ENV=METRICS_ADDR=…) prints the server's
    // own latency histogram after each open-loop run, to tell server time from transport time.
    let metrics = std::env::var("SWEEP_METRICS").ok();
    for (name, op) in calls {
        if std::env::var_os("SWEEP_NO_PEAK").is_none() {
            let peak = engine::closed(
                &b.load,
                op.clone(),
                opts.warmup,
                opts.duration,
                u64::MAX,
                Some(&cpu),
            )
            .await;
            eprintln!("{name:<14} closed {}", peak.summary());
        }
        for &rate in rates {
            let stats = engine::open(
                &b.load,
                op.clone(),
                rate,
                opts.duration,
                u64::MAX,
                MAX_IN_FLIGHT,
                Some(&cpu),
            )
            .await;
            eprintln!("{name:<14} {rate:>6.0}/s {}", stats.summary());
            if let Some(url) = &metrics {
                let out = Command::new("curl").args(["-s", url]).output()?;
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    if line.starts_with("phoneauth_rpc_duration_seconds") && line.contains(name) {
                        eprintln!("    {line}");
                    }
                }
            }
        }
    }
    b.stop().await
}
