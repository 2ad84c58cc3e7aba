//! The server under test: the release binary in its own process, pinned to one core, configured
//! through its environment like a deployment; its CPU time and RSS are read from /proc.
use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The service whose health the bench checks (and uses as the throughput ceiling).
pub const HEALTH_SERVICE: &str = "phoneauth.v1.AuthService";

/// The load generator's own service credential, sent as `x-service-token` by the Introspect and
/// ext_authz scenarios; every bench server knows it as the service `loadgen` (by its SHA-256,
/// as SERVICE_TOKENS takes it). 46 characters: over the server's 43-character minimum.
pub const SERVICE_TOKEN: &str = "bG9hZGdlbi1iZW5jaC1zZXJ2aWNlLXRva2VuLWZvci0xNA";

/// `SERVICE_TOKENS` naming [`SERVICE_TOKEN`]: `loadgen:<sha256 hex>`.
fn service_tokens() -> String {
    use sha2::{Digest as _, Sha256};
    let hex: String = Sha256::digest(SERVICE_TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("loadgen:{hex}")
}

/// How to start a server.
#[derive(Clone)]
pub struct ServerSpec {
    pub bin: PathBuf,
    /// Core to pin the server to with taskset; none: unpinned.
    pub cpu: Option<usize>,
    pub database_url: String,
    pub admin_phone: String,
    /// Working directory (no .env there) and home of the log file.
    pub dir: PathBuf,
    pub name: String,
    /// Settings on top of the bench's own (e.g. `USER_CACHE_MB=0`).
    pub env: Vec<(String, String)>,
}

pub struct Server {
    child: Child,
    pub pid: u32,
    core: Option<usize>,
    pub addr: SocketAddr,
    /// From spawning the process to the first SERVING answer of Health/Check.
    pub startup: Duration,
    pub log: PathBuf,
}

impl Server {
    pub async fn start(spec: &ServerSpec) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = spec.dir.join(format!("server-{}.log", spec.name));
        let out = std::fs::File::create(&log)?;
        let mut command = match spec.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&spec.bin);
                c
            }
            None => Command::new(&spec.bin),
        };
        command
            .current_dir(&spec.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(server_env(spec, addr))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("spawning {}", spec.bin.display()))?;
        let pid = child.id();
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_millis(200));
        let deadline = started + Duration::from_secs(120);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "server exited with {status} during start-up; see {}",
                    log.display()
                );
            }
            if let Ok(channel) = endpoint.connect().await
                && serving(channel).await
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("server not SERVING after 120 s; see {}", log.display());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let startup = started.elapsed();
        Ok(Server {
            child,
            pid,
            core: spec.cpu,
            addr,
            startup,
            log,
        })
    }

    /// `count` connections to the server, each its own HTTP/2 connection.
    pub async fn channels(&self, count: usize) -> anyhow::Result<Vec<Channel>> {
        let mut channels = Vec::with_capacity(count);
        for _ in 0..count {
            let channel = Endpoint::from_shared(format!("http://{}", self.addr))?
                .tcp_nodelay(true)
                .connect()
                .await?;
            channels.push(channel);
        }
        Ok(channels)
    }

    pub fn cpu_clock(&self) -> CpuClock {
        CpuClock {
            pid: self.pid,
            core: self.core,
        }
    }

    /// Resident set size in bytes (VmRSS of /proc/<pid>/status).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        rss_bytes(self.pid)
    }

    /// SIGTERM, then wait for the drain (SIGKILL after 20 s).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_timed().await.map(drop)
    }

    /// SIGTERM, then wait until the process has exited (SIGKILL after 180 s); returns how long
    /// the graceful stop took.
    pub async fn stop_timed(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let deadline = started + Duration::from_secs(180);
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(started.elapsed());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("server {} still running 180 s after SIGTERM", self.pid);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The settings of a bench server: console sender, warn-level logs, every throttle raised so
/// that one address can send millions of calls, a fixed key, and the loadgen's service
/// credential (for SessionService and ext_authz Check).
fn server_env(spec: &ServerSpec, addr: SocketAddr) -> Vec<(String, String)> {
    let env = [
        (
            "SECRET_KEY",
            "bench-secret-key-that-is-at-least-32-bytes-long".to_string(),
        ),
        ("LISTEN_ADDR", addr.to_string()),
        ("DATABASE_URL", spec.database_url.clone()),
        ("DB_MAX_CONNECTIONS", "8".into()),
        ("SMS_PROVIDER", "console".into()),
        ("RUST_LOG", "warn".into()),
        ("ADMIN_PHONES", spec.admin_phone.clone()),
        ("RESEND_INTERVAL_SECONDS", "0".into()),
        ("CODES_PER_PHONE", "1000000".into()),
        ("WRONG_CODES_PER_PHONE", "1000000".into()),
        ("REQUEST_CODE_PER_IP_BURST", "1000000000".into()),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "1000000000".into()),
        ("VERIFY_CODE_PER_IP_BURST", "1000000000".into()),
        ("VERIFY_CODE_PER_IP_PER_MINUTE", "1000000000".into()),
        ("SET_INVITER_PER_IP_BURST", "1000000000".into()),
        ("SET_INVITER_PER_IP_PER_MINUTE", "1000000000".into()),
        ("SET_INVITER_PER_USER", "1000000".into()),
        ("SMS_BUDGET_PER_WINDOW", "1000000000".into()),
        ("SERVICE_TOKENS", service_tokens()),
    ];
    let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (k, v) in &spec.env {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    // Anything else the operator wants to try (e.g. BENCH_SERVER_ENV="CODE_LENGTH=6 X=Y").
    if let Ok(extra) = std::env::var("BENCH_SERVER_ENV") {
        for pair in extra.split_whitespace() {
            if let Some((k, v)) = pair.split_once('=') {
                env.retain(|(name, _)| name != k);
                env.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    env
}

async fn serving(channel: Channel) -> bool {
    let request = HealthCheckRequest {
        service: HEALTH_SERVICE.into(),
    };
    matches!(
        HealthClient::new(channel).check(request).await,
        Ok(response) if response.get_ref().status == ServingStatus::Serving as i32
    )
}

pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?;
    Ok(kib * 1024)
}

/// The core this process (the load generator) is pinned to, when known.
pub static LOAD_CORE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Reads a process's CPU time (user + system, all threads) from /proc/<pid>/stat.
#[derive(Clone)]
pub struct CpuClock {
    pid: u32,
    /// The core the process is pinned to, whose other users are measured too.
    core: Option<usize>,
}

impl CpuClock {
    /// This process.
    pub fn own() -> CpuClock {
        CpuClock {
            pid: std::process::id(),
            core: LOAD_CORE.get().copied(),
        }
    }

    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_secs_f64(
            ticks as f64 / clock_ticks_per_second(),
        ))
    }

    /// Fraction of one core the process used between two instants in the future, with how
    /// much of its pinned core *other* processes used meanwhile (the machine is shared: their share is noise in the figures).
    pub async fn busy_with_others(self, from: Instant, to: Instant) -> Option<(f64, Option<f64>)> {
        tokio::time::sleep_until(from.into()).await;
        let (t0, c0, k0) = (Instant::now(), self.cpu_time()?, self.core_time());
        tokio::time::sleep_until(to.into()).await;
        let (t1, c1, k1) = (Instant::now(), self.cpu_time()?, self.core_time());
        let wall = (t1 - t0).as_secs_f64();
        let own = (c1 - c0).as_secs_f64() / wall;
        let others = match (k0, k1) {
            (Some(k0), Some(k1)) => Some(((k1 - k0).as_secs_f64() / wall - own).clamp(0.0, 1.0)),
            _ => None,
        };
        Some((own, others))
    }

    /// Busy time of the pinned core (all processes), from /proc/stat.
    fn core_time(&self) -> Option<Duration> {
        let core = self.core?;
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat
            .lines()
            .find(|l| l.starts_with(&format!("cpu{core} ")))?;
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
        let busy: u64 = ticks
            .iter()
            .take(8)
            .enumerate()
            .filter(|(i, _)| *i != 3 && *i != 4)
            .map(|(_, t)| t)
            .sum();
        Some(Duration::from_secs_f64(
            busy as f64 / clock_ticks_per_second(),
        ))
    }
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
