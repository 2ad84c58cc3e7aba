//! Load generator for phone-auth: drives the release server over gRPC with many concurrent
//! HTTP/2 streams and reports, per RPC, calls/s and p50/p99/p999 latency next to
//! grpc.health.v1.Health/Check on the same server (the ceiling). Run it through
//! `scripts/bench.sh`, which builds, pins the cores and writes docs/performance.md.
//!
//! ```text
//! loadgen bench --server-bin target/release/phone-auth [--server-cpu 0] [--load-cpu 1] [--dir DIR]
//!               [--pg-url postgres://…] [--out FILE] [--duration 5] [--warmup 1]
//!               [--connections 8] [--streams 32] [--main-users 500000]
//!               [--small-users 10000] [--big-users 1000000] [--memory-entries 1000000]
//!               [--only sqlite,services,web,postgres,scale,memory,peer] [--peer-dir DIR] [--perf-dir DIR]
//! loadgen sweep --server-bin … [--rates 1000,5000,10000]   (latency against rate, ad hoc)
//! loadgen store-memory [--n 1000000]   (bytes per entry of each in-memory store)
//! loadgen raw-insert --db URL [--pool 8] [--concurrency 64] [--rows N] [--seconds S]
//!                    [--pin-backends-to CORE]   (PostgreSQL: pin its server processes)
//! ```
//!
//! Only 127.0.0.1 is ever called, and every run is bounded in time and in calls.
/// The server's allocator, so that `store-memory` measures what the server would hold.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod engine;
mod moka_floor;
mod report;
mod scenarios;
mod seed;
mod server;
mod store_memory;

use std::{collections::HashMap, path::PathBuf, time::Duration};

use anyhow::{Context, bail};

/// `--name value` pairs after the subcommand.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
        let mut map = HashMap::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .with_context(|| format!("unexpected argument {arg:?}"))?;
            let value = args
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value);
        }
        Ok(Args(map))
    }

    fn get(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    fn number<T: std::str::FromStr>(&mut self, name: &str, default: T) -> anyhow::Result<T> {
        match self.0.remove(name) {
            Some(v) => v
                .parse()
                .ok()
                .with_context(|| format!("--{name} {v:?} is not a number")),
            None => Ok(default),
        }
    }

    fn seconds(&mut self, name: &str, default: f64) -> anyhow::Result<Duration> {
        Ok(Duration::from_secs_f64(self.number(name, default)?))
    }

    fn done(self) -> anyhow::Result<()> {
        if let Some(name) = self.0.keys().next() {
            bail!("unknown option --{name}");
        }
        Ok(())
    }
}

// One thread: the bench pins this process to one core, as the server is pinned to the other.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut argv = std::env::args().skip(1);
    let command = argv.next().unwrap_or_default();
    let mut args = Args::parse(argv)?;
    match command.as_str() {
        "bench" | "sweep" => {
            let opts = bench::Opts {
                server_bin: args
                    .get("server-bin")
                    .map(PathBuf::from)
                    .context("--server-bin is required")?,
                server_cpu: match args.get("server-cpu") {
                    Some(v) if v == "none" => None,
                    Some(v) => Some(v.parse().context("--server-cpu")?),
                    None => Some(0),
                },
                load_cpu: match args.get("load-cpu") {
                    Some(v) if v == "none" => None,
                    Some(v) => Some(v.parse().context("--load-cpu")?),
                    None => Some(1),
                },
                dir: args.get("dir").map_or_else(
                    || std::env::temp_dir().join("phone-auth-bench"),
                    PathBuf::from,
                ),
                pg_url: args.get("pg-url"),
                out: args
                    .get("out")
                    .map_or_else(|| PathBuf::from("bench-results.md"), PathBuf::from),
                warmup: args.seconds("warmup", 1.0)?,
                duration: args.seconds("duration", 5.0)?,
                connections: args.number("connections", 8)?,
                streams: args.number("streams", 32)?,
                main_users: args.number("main-users", 500_000)?,
                small_users: args.number("small-users", 10_000)?,
                big_users: args.number("big-users", 1_000_000)?,
                memory_entries: args.number("memory-entries", 1_000_000)?,
                only: args
                    .get("only")
                    .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect()),
                perf_dir: args.get("perf-dir").map(PathBuf::from),
                peer_dir: args.get("peer-dir").map(PathBuf::from),
            };
            if command == "sweep" {
                let rates = args
                    .get("rates")
                    .unwrap_or_else(|| "1000,5000,10000".into());
                let rates: Vec<f64> = rates
                    .split(',')
                    .filter_map(|r| r.trim().parse().ok())
                    .collect();
                args.done()?;
                if let Some(core) = opts.load_cpu {
                    let _ = server::LOAD_CORE.set(core);
                }
                return bench::sweep(&opts, &rates).await;
            }
            args.done()?;
            if let Some(core) = opts.load_cpu {
                let _ = server::LOAD_CORE.set(core);
            }
            bench::run(opts).await
        }
        "store-memory" => {
            let n = args.number("n", 1_000_000)?;
            args.done()?;
            store_memory::run(n).await.map(drop)
        }
        "raw-insert" => {
            let url = args.get("db").context("--db is required")?;
            let pool = args.number("pool", 8)?;
            let concurrency = args.number("concurrency", 64)?;
            let rows = args.number("rows", 200_000)?;
            let limit = args.seconds("seconds", 10.0)?;
            let pin = match args.get("pin-backends-to") {
                Some(core) => Some(core.parse().context("--pin-backends-to")?),
                None => None,
            };
            args.done()?;
            let (rows, took) = seed::raw_insert(&url, pool, rows, concurrency, limit, pin).await?;
            println!("rows={rows} seconds={:.3}", took.as_secs_f64());
            Ok(())
        }
        other => bail!(
            "usage: loadgen bench … | loadgen raw-insert … (got {other:?}); see examples/loadgen/main.rs"
        ),
    }
}
