//! Issue #13's comparison with a peer: better-auth with its phone-number OTP plugin on SQLite
//! (`../shared/peers/better-auth`, whose own `bench.sh` runs its server on one core and its load
//! on the other, as ours). Both sides measure the same work in the same `bench` run:
//! - full new-user logins: a code requested and verified for a new phone, one flow per call
//!   pair (ours: RequestCode then VerifyCode; theirs: `flows.mjs`, send-otp then verify);
//! - session checks: our GetProfile (the session, the profile and its first page of referrals)
//!   with the profile cache on and off, against their `get-session` (session and user read
//!   from SQLite on every call), the better of its cookie and bearer runs.
//!
//! The peer runs only where `node` is installed; otherwise the section says so in the report.
use std::{path::Path, process::Command, sync::Arc};

use super::{
    throughput::{main_seed, profile_sessions},
    *,
};

const FLOWS_TARGET: f64 = 50.0;
const CACHED_CHECKS_TARGET: f64 = 100.0;
const UNCACHED_CHECKS_TARGET: f64 = 30.0;

/// What the peer's bench printed, in calls (or flows) per second.
struct Peer {
    flows: f64,
    session_checks: f64,
    /// Its versions line and every RESULT line, for the report.
    lines: Vec<String>,
}

pub(super) async fn peer(opts: &Opts, peer_dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== The peer: better-auth beside phone-auth");
    let (url, _) = fresh_sqlite(opts, "main", &main_seed(opts)).await?;
    let without_cache = {
        let b = Bench::start(opts, &spec_without_cache(opts, "peer-nocache", url.clone())).await?;
        let rps = session_checks(&b, "GetProfile (cache off)").await?;
        b.stop().await?;
        rps
    };
    let mut b = Bench::start(opts, &spec(opts, "peer", url)).await?;
    b.check(report, "SQLite").await;
    let with_cache = session_checks(&b, "GetProfile (cache on)").await?;
    let probe_phones = b.new_phones(3000);
    let probe = b.probe(scenarios::full_login(probe_phones, 0), 3000).await;
    let phones = b.new_phones(b.pool_for(&probe));
    let m = b
        .measure(
            "full new-user login",
            &|start| scenarios::full_login(phones.clone(), start),
            phones.len() as u64,
        )
        .await;
    let flows = m.peak.rps();
    report.throughput(
        "Full new-user login (RequestCode + VerifyCode, new phones), flows/s",
        "SQLite",
        m,
        b.ceiling,
        None,
    );
    b.stop().await?;

    let peer = match run_peer(peer_dir) {
        Ok(peer) => peer,
        Err(why) => {
            report.note(&format!(
                "The peer (better-auth) was not measured: {why:#}."
            ));
            return Ok(());
        }
    };
    let rows = [
        (
            "Full new-user logins: phone-auth ÷ better-auth (flows/s)",
            flows,
            peer.flows,
            FLOWS_TARGET,
        ),
        (
            "Session checks, profile cache on: GetProfile ÷ better-auth get-session (calls/s)",
            with_cache,
            peer.session_checks,
            CACHED_CHECKS_TARGET,
        ),
        (
            "Session checks, profile cache off: GetProfile ÷ better-auth get-session (calls/s)",
            without_cache,
            peer.session_checks,
            UNCACHED_CHECKS_TARGET,
        ),
    ];
    for (what, ours, theirs, target) in rows {
        report.target(Target::ratio(what, ours, theirs, "/s", "/s", target));
    }
    report.note(&format!(
        "The peer's own output (`{}`): {}",
        peer_dir.join("bench.sh").display(),
        peer.lines.join("; ")
    ));
    Ok(())
}

/// GetProfile's peak on `b`: 1,000 users with 10 referrals each, round robin.
async fn session_checks(b: &Bench<'_>, name: &str) -> anyhow::Result<f64> {
    let tokens = Arc::new(profile_sessions(b).await?);
    let m = b
        .measure(
            name,
            &|_| scenarios::get_profile(tokens.clone(), FEW_REFERRALS),
            u64::MAX,
        )
        .await;
    ensure!(m.peak.errors == 0, "{name}: {} errors", m.peak.errors);
    Ok(m.peak.rps())
}

/// Runs the peer's `bench.sh` and reads its RESULT lines; an error says why it could not.
fn run_peer(dir: &Path) -> anyhow::Result<Peer> {
    let script = dir.join("bench.sh");
    ensure!(script.exists(), "no {}", script.display());
    ensure!(
        Command::new("node").arg("--version").output().is_ok(),
        "node is not installed"
    );
    eprintln!(
        "  running {} (npm ci the first time: ~2 min)",
        script.display()
    );
    let output = Command::new("bash").arg(&script).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "its bench failed or had invalid measurements: {}",
        stdout.lines().rev().take(5).collect::<Vec<_>>().join(" / ")
    );
    let rate = |name: &str, unit: &str| {
        stdout
            .lines()
            .filter_map(|line| line.strip_prefix("RESULT "))
            .filter(|line| line.starts_with(name))
            .filter_map(|line| {
                line.split(unit)
                    .next()?
                    .split_whitespace()
                    .last()?
                    .parse()
                    .ok()
            })
            .fold(None, |best: Option<f64>, rate| {
                Some(best.map_or(rate, |b| b.max(rate)))
            })
    };
    let flows = rate("flows:", "flows/s").context("no flows RESULT line")?;
    let session_checks = rate("get-session", "req/s").context("no get-session RESULT line")?;
    eprintln!("  better-auth: {flows:.1} flows/s, get-session {session_checks:.1} req/s");
    let lines = stdout
        .lines()
        .filter(|line| line.starts_with("RESULT ") || line.starts_with("versions:"))
        .map(|line| {
            format!(
                "`{}`",
                line.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    Ok(Peer {
        flows,
        session_checks,
        lines,
    })
}
