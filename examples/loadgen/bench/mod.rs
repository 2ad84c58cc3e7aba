//! The whole bench: every scenario of docs/performance.md against real server processes, and the
//! Markdown tables written from the results. Sections: `throughput` (every RPC on SQLite, and
//! registration on PostgreSQL, against the raw INSERT rate), `services` (Introspect and
//! ext_authz Check, part of the SQLite run, or alone), `scale` (data sizes, start-up,
//! memory), `sweep` (latency against rate, ad hoc).
use std::{
    collections::HashSet,
    path::PathBuf,
    process::{Child, Command},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use phone_auth::proto::{
    RequestCodeRequest, VerifyCodeRequest, auth_service_client::AuthServiceClient,
};

mod peer;
mod scale;
mod services;
mod sweep;
mod throughput;
mod web;

pub use sweep::sweep;

use crate::{
    engine::{self, Load, Op, Stats},
    report::{Measured, Report, Target},
    scenarios::{self, Bearer, Pending, bearer},
    seed::{self, NEW, PENDING, SEEDED, Seed, phone},
    server::{Server, ServerSpec},
};

pub struct Opts {
    pub server_bin: PathBuf,
    /// Core for the server (and for the raw-INSERT measurement, which stands in for it).
    pub server_cpu: Option<usize>,
    /// Core of the load generator, where PostgreSQL's server processes are pinned too.
    pub load_cpu: Option<usize>,
    pub dir: PathBuf,
    /// A PostgreSQL URL whose user may create databases; none skips PostgreSQL.
    pub pg_url: Option<String>,
    pub out: PathBuf,
    pub warmup: Duration,
    pub duration: Duration,
    pub connections: usize,
    pub streams: usize,
    /// Users in the SQLite database of the throughput scenarios.
    pub main_users: u64,
    /// Users in the two ListUsers databases.
    pub small_users: u64,
    pub big_users: u64,
    /// Live sessions and pending codes created for the memory measurement.
    pub memory_entries: u64,
    /// Sections to run (sqlite, services, web, postgres, scale, memory); all when none. The
    /// SQLite run includes the services and web rows; `services` or `web` without `sqlite` runs
    /// them alone.
    pub only: Option<HashSet<String>>,
    /// Record a perf profile of the server during each peak run into this folder.
    pub perf_dir: Option<PathBuf>,
    /// The peer's harness (`peer` section; `../shared/peers/better-auth`).
    pub peer_dir: Option<PathBuf>,
}

/// Calls left in flight at most by the open loop.
const MAX_IN_FLIGHT: usize = 8192;
/// Referrals of the users whose profiles are read.
const FEW_REFERRALS: u64 = 10;
/// GetProfile's throughput reads this many distinct users, each with FEW_REFERRALS referrals:
/// users PROFILE_USERS_FIRST.. invite the users from PROFILE_REFERRALS_FIRST on, ten each.
const PROFILE_USERS: u64 = 1000;
const PROFILE_USERS_FIRST: u64 = 20_001;
const PROFILE_REFERRALS_FIRST: u64 = 30_001;
const MANY_REFERRALS: u64 = 100_000;
/// Seeded users 1..FIRST_PLAIN are special (admin, inviters, their referrals) in every database.
const FIRST_PLAIN: u64 = 100;

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    std::fs::create_dir_all(&opts.dir)?;
    let mut report = Report::new(&opts);
    let wanted = |section: &str| opts.only.as_ref().is_none_or(|s| s.contains(section));
    if wanted("sqlite") {
        throughput::sqlite_throughput(&opts, &mut report)
            .await
            .context("SQLite throughput")?;
        report.write(&opts.out)?;
    } else {
        if wanted("services") {
            services::services_only(&opts, &mut report)
                .await
                .context("services")?;
            report.write(&opts.out)?;
        }
        if wanted("web") {
            web::web_only(&opts, &mut report).await.context("web")?;
            report.write(&opts.out)?;
        }
    }
    if wanted("postgres") {
        match &opts.pg_url {
            Some(url) => throughput::postgres_registration(&opts, url, &mut report)
                .await
                .context("PostgreSQL registration")?,
            None => report.note("PostgreSQL: skipped (no --pg-url)."),
        }
        report.write(&opts.out)?;
    }
    if wanted("scale") {
        scale::scale(&opts, &mut report).await.context("scale")?;
        report.write(&opts.out)?;
    }
    if wanted("memory") {
        scale::memory(&opts, &mut report).await.context("memory")?;
        report.write(&opts.out)?;
    }
    if wanted("peer") {
        match &opts.peer_dir {
            Some(dir) => peer::peer(&opts, dir, &mut report).await.context("peer")?,
            None => report.note("The peer: skipped (no --peer-dir)."),
        }
    }
    report.finish();
    report.write(&opts.out)?;
    eprintln!("wrote {}", opts.out.display());
    Ok(())
}

/// A running server and the load pointed at it.
struct Bench<'a> {
    opts: &'a Opts,
    server: Server,
    load: Load,
    /// Health/Check peak of this server: the ceiling the ratios are taken to.
    ceiling: f64,
    /// Next unused index of the NEW phone range.
    next_new: u64,
}

impl<'a> Bench<'a> {
    async fn start(opts: &'a Opts, spec: &ServerSpec) -> anyhow::Result<Bench<'a>> {
        let server = Server::start(spec).await?;
        eprintln!(
            "server {} (pid {}) SERVING after {:?}; log {}",
            spec.name,
            server.pid,
            server.startup,
            server.log.display()
        );
        let channels = server.channels(opts.connections).await?;
        Ok(Bench {
            opts,
            server,
            load: Load {
                channels,
                streams: opts.streams,
            },
            ceiling: f64::NAN,
            next_new: 0,
        })
    }

    /// Peak (closed loop) then half the peak rate (open loop), with `pool` inputs in all;
    /// `make(base)` makes the call whose i-th input is `base + i`.
    async fn measure(&self, name: &str, make: &dyn Fn(u64) -> Op, pool: u64) -> Measured {
        let opts = self.opts;
        let cpu = self.server.cpu_clock();
        let perf = self.perf(name);
        let peak = engine::closed(
            &self.load,
            make(0),
            opts.warmup,
            opts.duration,
            pool,
            Some(&cpu),
        )
        .await;
        if let Some(mut perf) = perf {
            let _ = perf.wait();
        }
        eprintln!("  {name:<32} peak {}", peak.summary());
        let rate = peak.rps() / 2.0;
        if rate < 1.0 {
            // Nothing completed in the window (the errors say why): no rate to halve.
            return Measured { peak, half: None };
        }
        let left = pool.saturating_sub(peak.issued);
        if left == 0 {
            eprintln!("  {name:<32} half: skipped, the peak run spent the whole pool of {pool}");
            return Measured { peak, half: None };
        }
        let half = engine::open(
            &self.load,
            make(peak.issued),
            rate,
            opts.duration,
            left,
            MAX_IN_FLIGHT,
            Some(&cpu),
        )
        .await;
        eprintln!("  {name:<32} half {}", half.summary());
        Measured {
            peak,
            half: Some(half),
        }
    }

    fn perf(&self, name: &str) -> Option<Child> {
        let dir = self.opts.perf_dir.as_ref()?;
        let file = dir.join(format!("{}.data", slug(name)));
        let seconds = (self.opts.warmup + self.opts.duration).as_secs_f64();
        Command::new("perf")
            .args([
                "record",
                "-q",
                "-F",
                "499",
                "--call-graph",
                "dwarf,8192",
                "-o",
            ])
            .arg(&file)
            .args([
                "-p",
                &self.server.pid.to_string(),
                "--",
                "sleep",
                &format!("{seconds}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| eprintln!("perf record failed to start: {e}"))
            .ok()
    }

    /// Runs `op` untimed for `n` calls at full concurrency; every call must succeed.
    async fn bulk(&self, what: &str, op: Op, n: u64) -> anyhow::Result<Stats> {
        let started = Instant::now();
        let stats = engine::closed(
            &self.load,
            op,
            Duration::ZERO,
            Duration::from_secs(3600),
            n,
            None,
        )
        .await;
        ensure!(
            stats.errors == 0,
            "{what}: {} errors, first: {:?}",
            stats.errors,
            stats.first_error
        );
        ensure!(
            stats.completed == n,
            "{what}: {} of {n} calls completed",
            stats.completed
        );
        eprintln!(
            "  ({what}: {n} calls in {:.1?}, {:.0}/s)",
            started.elapsed(),
            stats.rps()
        );
        Ok(stats)
    }

    /// RequestCode for each phone; returns the phones with their codes.
    async fn issue_codes(&self, phones: Arc<Vec<String>>) -> anyhow::Result<Vec<Pending>> {
        let sink = Arc::new(Mutex::new(Vec::with_capacity(phones.len())));
        let list = phones.clone();
        let op = scenarios::request_code(move |i| list[i as usize].clone(), 0, Some(sink.clone()));
        self.bulk("RequestCode", op, phones.len() as u64).await?;
        Ok(std::mem::take(&mut *sink.lock().expect("sink")))
    }

    /// VerifyCode for each pending code; returns the session tokens.
    async fn log_in(&self, pending: Vec<Pending>, created: bool) -> anyhow::Result<Vec<Bearer>> {
        let n = pending.len() as u64;
        let sink = Arc::new(Mutex::new(Vec::with_capacity(pending.len())));
        let op = scenarios::verify_code(Arc::new(pending), 0, created, Some(sink.clone()));
        self.bulk("VerifyCode", op, n).await?;
        Ok(std::mem::take(&mut *sink.lock().expect("sink")))
    }

    /// A code for each phone; with `after_a_login`, each phone first logs in once (untimed), so
    /// that the codes make a pool of repeat logins.
    async fn codes_for(
        &self,
        phones: Arc<Vec<String>>,
        after_a_login: bool,
    ) -> anyhow::Result<Vec<Pending>> {
        if after_a_login {
            let first = self.issue_codes(phones.clone()).await?;
            self.log_in(first, false).await?;
        }
        self.issue_codes(phones).await
    }

    fn new_phones(&mut self, n: u64) -> Arc<Vec<String>> {
        let phones = (self.next_new..self.next_new + n)
            .map(|i| phone(NEW, i))
            .collect();
        self.next_new += n;
        Arc::new(phones)
    }

    /// Registers `n` new users; returns their session tokens.
    async fn register(&mut self, n: u64) -> anyhow::Result<Vec<Bearer>> {
        let phones = self.new_phones(n);
        let pending = self.issue_codes(phones).await?;
        self.log_in(pending, true).await
    }

    /// `count` sessions of seeded user `id`, checked to have `referrals` referrals.
    async fn sessions_of(
        &self,
        id: u64,
        count: usize,
        referrals: u64,
    ) -> anyhow::Result<Vec<Bearer>> {
        let mut tokens = Vec::new();
        for _ in 0..count {
            let mut client = AuthServiceClient::new(self.load.channels[0].clone());
            let sent = client
                .request_code(RequestCodeRequest {
                    phone_number: phone(SEEDED, id),
                })
                .await?
                .into_inner();
            let login = client
                .verify_code(VerifyCodeRequest {
                    phone_number: sent.phone_number,
                    verification_code: sent.debug_code,
                })
                .await?
                .into_inner();
            let profile = login.profile.context("VerifyCode returns the profile")?;
            ensure!(
                profile.user_id as u64 == id,
                "seeded user {id} has id {}",
                profile.user_id
            );
            ensure!(
                profile.referral_count == referrals,
                "user {id} has {} referrals",
                profile.referral_count
            );
            tokens.push(bearer(&login.session_token));
        }
        Ok(tokens)
    }

    /// Inputs for one [`Bench::measure`] of a call that consumes them, at a rate first probed
    /// for a second on `probe` inputs: enough for the peak window and the half-rate window.
    fn pool_for(&self, probe: &Stats) -> u64 {
        // Twice the probe's rate: a probe of a few thousand calls includes the ramp-up and can
        // read at half the peak (repeat logins did, once the profile cache answered them), and
        // a pool spent before the half-peak run leaves that row without a measurement.
        let rate = 2.0 * probe.rps().max(100.0);
        let seconds = (self.opts.warmup + self.opts.duration).as_secs_f64() * 1.5
            + 0.5 * self.opts.duration.as_secs_f64() * 1.2;
        (rate * seconds) as u64 + 1000
    }

    async fn probe(&self, op: Op, n: u64) -> Stats {
        engine::closed(
            &self.load,
            op,
            Duration::ZERO,
            Duration::from_secs(1),
            n,
            None,
        )
        .await
    }

    async fn check(&mut self, report: &mut Report, db: &str) {
        let measured = self
            .measure(
                &format!("Health/Check ({db})"),
                &|_| scenarios::health_check(),
                u64::MAX,
            )
            .await;
        self.ceiling = measured.peak.rps();
        report.throughput(
            "grpc.health.v1.Health/Check (the ceiling)",
            db,
            measured,
            self.ceiling,
            None,
        );
        // The floor of this machine: the cheapest call at a rate that loads nothing.
        let cpu = self.server.cpu_clock();
        let floor = engine::open(
            &self.load,
            scenarios::health_check(),
            1000.0,
            self.opts.duration,
            u64::MAX,
            MAX_IN_FLIGHT,
            Some(&cpu),
        )
        .await;
        eprintln!(
            "  {:<32} 1000/s {}",
            format!("Health/Check ({db})"),
            floor.summary()
        );
        report.note(&format!(
            "Noise floor ({db} run): Health/Check at 1,000 calls/s (server {:.0}% busy): p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms; \
             the load generator's own send lag p99 {:.2} ms.",
            floor.server_cpu.unwrap_or(f64::NAN) * 100.0,
            floor.ms(0.5),
            floor.ms(0.99),
            floor.ms(0.999),
            floor.send_lag_p99_us.unwrap_or(0) as f64 / 1000.0
        ));
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn spec(opts: &Opts, name: &str, database_url: String) -> ServerSpec {
    ServerSpec {
        bin: opts.server_bin.clone(),
        cpu: opts.server_cpu,
        database_url,
        admin_phone: phone(SEEDED, 1),
        dir: opts.dir.clone(),
        name: name.into(),
        env: Vec::new(),
    }
}

/// [`spec`] with the in-process profile cache turned off: every GetProfile reads SQL.
fn spec_without_cache(opts: &Opts, name: &str, database_url: String) -> ServerSpec {
    ServerSpec {
        env: vec![("USER_CACHE_MB".into(), "0".into())],
        ..spec(opts, name, database_url)
    }
}

/// A fresh SQLite database with `seed` in it: the server creates and migrates the file, then
/// the users are written straight into it.
async fn fresh_sqlite(opts: &Opts, name: &str, seed: &Seed) -> anyhow::Result<(String, Duration)> {
    let file = opts.dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let url = format!("sqlite://{}?mode=rwc", file.display());
    Server::start(&spec(opts, &format!("{name}-migrate"), url.clone()))
        .await?
        .stop()
        .await?;
    let took = seed::seed(&url, seed).await?;
    eprintln!(
        "seeded {} users into {} in {took:.1?}",
        seed.users,
        file.display()
    );
    Ok((url, took))
}
