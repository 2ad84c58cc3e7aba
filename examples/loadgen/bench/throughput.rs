//! Throughput of every RPC on SQLite, registration on PostgreSQL, and the raw INSERT rate.
use std::{
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, ensure};

use super::{services, *};

/// The raw INSERT rate, measured in a child process pinned to the server's core, through a
/// pool of `pool` connections.
fn raw_insert_with(opts: &Opts, url: &str, pool: u32) -> anyhow::Result<(u64, Duration)> {
    let exe = std::env::current_exe()?;
    let mut command = match opts.server_cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let seconds = (opts.duration * 2).as_secs_f64();
    let output = command
        .args([
            "raw-insert",
            "--db",
            url,
            "--pool",
            &pool.to_string(),
            "--concurrency",
            "64",
        ])
        .args(["--rows", "1000000", "--seconds", &seconds.to_string()])
        .args(match opts.load_cpu {
            Some(core) if url.starts_with("postgres") => {
                vec!["--pin-backends-to".to_string(), core.to_string()]
            }
            _ => vec![],
        })
        .output()?;
    ensure!(
        output.status.success(),
        "raw-insert failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout)?;
    let field = |name: &str| -> anyhow::Result<f64> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .with_context(|| format!("raw-insert printed no {name}: {text}"))
    };
    Ok((
        field("rows")? as u64,
        Duration::from_secs_f64(field("seconds")?),
    ))
}

/// The best raw INSERT rate (rows/s) of: a pool of 8 (as many connections as the server's
/// readers), a pool of 1, and (SQLite) one bare connection behind an async mutex, as the
/// server's writer ("pool" 0); with the pool that gave it.
fn raw_insert(opts: &Opts, url: &str) -> anyhow::Result<(f64, u32)> {
    let mut best = (0.0, 0);
    let pools: &[u32] = if url.starts_with("sqlite:") {
        &[8, 1, 0]
    } else {
        &[8, 1]
    };
    for &pool in pools {
        let (rows, took) = raw_insert_with(opts, url, pool)?;
        let rate = rows as f64 / took.as_secs_f64();
        eprintln!("  raw INSERT, pool {pool}: {rows} rows in {took:.1?} = {rate:.0} rows/s");
        if rate > best.0 {
            best = (rate, pool);
        }
    }
    Ok(best)
}

pub(super) async fn sqlite_throughput(opts: &Opts, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== SQLite: throughput of every RPC");
    let (url, _) = fresh_sqlite(opts, "main", &main_seed(opts)).await?;

    // GetProfile with the profile cache off: every call reads SQL (user, then referrals).
    let mut b = Bench::start(
        opts,
        &spec_without_cache(opts, "sqlite-nocache", url.clone()),
    )
    .await?;
    let db = "SQLite, USER_CACHE_MB=0";
    b.check(report, db).await;
    let tokens = Arc::new(profile_sessions(&b).await?);
    let m = b
        .measure(
            "GetProfile (10 referrals, 1,000 users, cache off)",
            &|_| scenarios::get_profile(tokens.clone(), FEW_REFERRALS),
            u64::MAX,
        )
        .await;
    report.throughput(
        "GetProfile, 10 referrals, 1,000 users, no cache",
        db,
        m,
        b.ceiling,
        None,
    );
    services::introspect_without_cache(&b, report, db, tokens).await;
    b.stop().await?;

    // A profile cache that holds the repeat-login row's pool (~200,000 users at its rate over
    // the windows): at the default 64 MB (~90,000 profiles) the row measured the cache's size,
    // each login finding the profile just evicted by the logins before it.
    let cached = ServerSpec {
        env: vec![("USER_CACHE_MB".into(), "256".into())],
        ..spec(opts, "sqlite", url.clone())
    };
    let mut b = Bench::start(opts, &cached).await?;
    let db = "SQLite, USER_CACHE_MB=256";
    b.check(report, db).await;

    // GetProfile as deployed: the profile cache holds the users after their first read.
    let tokens = Arc::new(profile_sessions(&b).await?);
    let m = b
        .measure(
            "GetProfile (10 referrals, 1,000 users)",
            &|_| scenarios::get_profile(tokens.clone(), FEW_REFERRALS),
            u64::MAX,
        )
        .await;
    let native_rps = m.peak.rps();
    report.throughput(
        "GetProfile, 10 referrals, 1,000 users",
        db,
        m,
        b.ceiling,
        Some(0.6),
    );
    // The same call over REST and gRPC-Web (issue #12), then the calls of other services
    // (issue #14), with the same sessions.
    web::measure(&b, report, db, tokens.clone(), native_rps).await;
    services::measure(&b, report, db, tokens).await;

    // RequestCode to distinct new phones; the codes feed VerifyCode below.
    let codes = Arc::new(Mutex::new(Vec::new()));
    let base = b.next_new;
    let m = b
        .measure(
            "RequestCode (distinct phones)",
            &|start| {
                scenarios::request_code(move |i| phone(NEW, i), base + start, Some(codes.clone()))
            },
            10_000_000 - base,
        )
        .await;
    b.next_new += m.peak.issued + m.half.as_ref().map_or(0, |h| h.issued);
    report.throughput("RequestCode, distinct phones", db, m, b.ceiling, Some(0.6));
    let mut pending = std::mem::take(&mut *codes.lock().expect("codes"));

    // VerifyCode registering new users: probe, top the codes up, measure.
    let new_sessions = Arc::new(Mutex::new(Vec::new()));
    let probe_n = 3000.min(pending.len() as u64);
    let probe_pool: Vec<Pending> = pending.drain(..probe_n as usize).collect();
    let probe = b
        .probe(
            scenarios::verify_code(Arc::new(probe_pool), 0, true, Some(new_sessions.clone())),
            probe_n,
        )
        .await;
    let want = b.pool_for(&probe) as usize;
    if pending.len() < want {
        let phones = b.new_phones((want - pending.len()) as u64);
        pending.extend(b.issue_codes(phones).await?);
    }
    let pool = Arc::new(pending);
    let m = b
        .measure(
            "VerifyCode (new user)",
            &|start| scenarios::verify_code(pool.clone(), start, true, Some(new_sessions.clone())),
            pool.len() as u64,
        )
        .await;
    let sqlite_users_per_second = m.peak.rps();
    report.throughput("VerifyCode, registering a new user", db, m, b.ceiling, None);

    // VerifyCode of existing (seeded) users: first logins since the server started (the user is
    // read in the registrar's batch), then users who logged in once before (untimed), whom
    // the profile cache answers while it holds them (~90,000 profiles and ~400,000 phones at
    // the default USER_CACHE_MB=64, four times that here; a known phone whose profile left is
    // read by id).
    let mut next_seeded = FIRST_PLAIN;
    let m = existing_user_logins(&b, &mut next_seeded, opts.main_users, false).await?;
    report.throughput(
        "VerifyCode, existing user, first login since start",
        db,
        m,
        b.ceiling,
        None,
    );
    let m = existing_user_logins(&b, &mut next_seeded, opts.main_users, true).await?;
    report.throughput(
        "VerifyCode, existing user, repeat login",
        db,
        m,
        b.ceiling,
        Some(0.4),
    );

    // SetInviter: each call a different new user naming a seeded user.
    let mut callers = std::mem::take(&mut *new_sessions.lock().expect("sessions"));
    let inviters = FIRST_PLAIN..opts.main_users + 1;
    let probe_n = 3000.min(callers.len());
    let probe_pool: Vec<Bearer> = callers.drain(..probe_n).collect();
    let probe = b
        .probe(
            scenarios::set_inviter(Arc::new(probe_pool), 0, inviters.clone()),
            probe_n as u64,
        )
        .await;
    let want = b.pool_for(&probe) as usize;
    if callers.len() < want {
        let more = b.register((want - callers.len()) as u64).await?;
        callers.extend(more);
    }
    let callers = Arc::new(callers);
    let m = b
        .measure(
            "SetInviter",
            &|start| scenarios::set_inviter(callers.clone(), start, inviters.clone()),
            callers.len() as u64,
        )
        .await;
    report.throughput("SetInviter", db, m, b.ceiling, Some(0.3));
    b.stop().await?;

    let (raw, raw_pool) = raw_insert(opts, &url)?;
    report.target(Target::ratio(
        &format!(
            "VerifyCode registering new users, SQLite: users/s ÷ raw INSERT rows/s (the best of a pool of 8, of 1, and one connection behind a mutex as the server writes: {})",
            pool_name(raw_pool)
        ),
        sqlite_users_per_second,
        raw,
        "users/s",
        "rows/s",
        0.5,
    ));
    Ok(())
}

pub(super) async fn postgres_registration(
    opts: &Opts,
    admin_url: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    eprintln!("== PostgreSQL: registration");
    let url = seed::fresh_pg_database(admin_url, "phoneauth_bench").await?;
    let mut b = Bench::start(opts, &spec(opts, "postgres", url.clone())).await?;
    let db = "PostgreSQL";
    b.check(report, db).await;
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let probe_phones = b.new_phones(3000);
    let probe_pool = b.issue_codes(probe_phones).await?;
    let probe = b
        .probe(
            scenarios::verify_code(Arc::new(probe_pool), 0, true, None),
            3000,
        )
        .await;
    if let Some(core) = opts.load_cpu {
        let pinned = seed::pin_pg_backends(&url, core).await?;
        eprintln!("  pinned {pinned} PostgreSQL server processes to core {core}");
    }
    let want = b.pool_for(&probe);
    let phones = b.new_phones(want);
    let pool = Arc::new(b.issue_codes(phones).await?);
    let m = b
        .measure(
            "VerifyCode (new user, PostgreSQL)",
            &|start| scenarios::verify_code(pool.clone(), start, true, Some(sessions.clone())),
            pool.len() as u64,
        )
        .await;
    let users_per_second = m.peak.rps();
    report.throughput("VerifyCode, registering a new user", db, m, b.ceiling, None);
    b.stop().await?;
    let (raw, raw_pool) = raw_insert(opts, &url)?;
    report.target(Target::ratio(
        &format!(
            "VerifyCode registering new users, PostgreSQL: users/s ÷ raw INSERT rows/s (the better of a pool of 8 and of 1: {})",
            pool_name(raw_pool)
        ),
        users_per_second,
        raw,
        "users/s",
        "rows/s",
        0.5,
    ));
    Ok(())
}

/// The throughput database: `main_users` users, user 2 with FEW_REFERRALS referrals, and the
/// PROFILE_USERS users whose profiles are read, FEW_REFERRALS each.
pub(super) fn main_seed(opts: &Opts) -> Seed {
    let mut referrals = vec![(2, 3, FEW_REFERRALS)];
    referrals.extend((0..PROFILE_USERS).map(|k| {
        (
            PROFILE_USERS_FIRST + k,
            PROFILE_REFERRALS_FIRST + k * FEW_REFERRALS,
            FEW_REFERRALS,
        )
    }));
    Seed {
        users: opts.main_users,
        referrals,
    }
}

/// One session for each of the PROFILE_USERS users with FEW_REFERRALS referrals.
pub(super) async fn profile_sessions(b: &Bench<'_>) -> anyhow::Result<Vec<Bearer>> {
    let mut tokens = Vec::new();
    for k in 0..PROFILE_USERS {
        tokens.extend(
            b.sessions_of(PROFILE_USERS_FIRST + k, 1, FEW_REFERRALS)
                .await?,
        );
    }
    Ok(tokens)
}

fn pool_name(pool: u32) -> String {
    match pool {
        0 => "one connection behind a mutex".into(),
        n => format!("pool of {n}"),
    }
}

/// VerifyCode of seeded users from `*next` on (at most up to user `last`): a probe, then a pool
/// sized to the measured window. `repeat`: each user logged in once before, untimed.
async fn existing_user_logins(
    b: &Bench<'_>,
    next: &mut u64,
    last: u64,
    repeat: bool,
) -> anyhow::Result<Measured> {
    let seeded = |from: u64, n: u64| Arc::new((from..from + n).map(|i| phone(SEEDED, i)).collect());
    let codes = |phones| b.codes_for(phones, repeat);
    let probe_pool = codes(seeded(*next, 3000)).await?;
    *next += 3000;
    let probe = b
        .probe(
            scenarios::verify_code(Arc::new(probe_pool), 0, false, None),
            3000,
        )
        .await;
    let want = b.pool_for(&probe).min((last + 1).saturating_sub(*next));
    let pool = Arc::new(codes(seeded(*next, want)).await?);
    *next += want;
    let name = match repeat {
        true => "VerifyCode (repeat login)",
        false => "VerifyCode (existing user)",
    };
    Ok(b.measure(
        name,
        &|start| scenarios::verify_code(pool.clone(), start, false, None),
        pool.len() as u64,
    )
    .await)
}
