//! The Markdown the bench writes: the block scripts/bench.sh puts into docs/performance.md.
use std::{fmt::Write as _, path::Path, process::Command, time::Duration};

use crate::{bench::Opts, engine::Stats};

/// A peak run and the run at half its rate.
pub struct Measured {
    pub peak: Stats,
    pub half: Option<Stats>,
}

/// One row of the "other targets" table.
pub struct Target {
    what: String,
    measured: String,
    target: String,
    met: bool,
}

impl Target {
    /// `value ÷ base ≥ min`.
    pub fn ratio(
        what: &str,
        value: f64,
        base: f64,
        unit: &str,
        base_unit: &str,
        min: f64,
    ) -> Target {
        let ratio = value / base;
        Target {
            what: what.into(),
            measured: format!("{value:.0} {unit} ÷ {base:.0} {base_unit} = **{ratio:.2}**"),
            target: format!("≥ {min}"),
            met: ratio >= min,
        }
    }

    /// `value ÷ base ≤ max`.
    pub fn ratio_below(what: &str, value: f64, base: f64, unit: &str, max: f64) -> Target {
        let ratio = value / base;
        Target {
            what: what.into(),
            measured: format!("{value:.3} {unit} ÷ {base:.3} {unit} = **{ratio:.2}**"),
            target: format!("≤ {max}"),
            met: ratio <= max,
        }
    }

    pub fn at_most(what: &str, value: f64, max: f64, unit: &str, detail: &str) -> Target {
        Target {
            what: what.into(),
            measured: format!("**{value:.0} {unit}** ({detail})"),
            target: format!("≤ {max:.0} {unit}"),
            met: value <= max,
        }
    }
}

struct Row {
    call: String,
    db: String,
    measured: Measured,
    ceiling: f64,
    /// Server CPU per Health/Check call in the same run.
    ceiling_cpu_us: Option<f64>,
    target: Option<f64>,
}

pub struct Report {
    header: String,
    /// Server CPU per Health/Check call, per database run.
    check_cpu_us: std::collections::HashMap<String, Option<f64>>,
    rows: Vec<Row>,
    targets: Vec<Target>,
    memory: Option<String>,
    notes: Vec<String>,
    load_at_end: Option<String>,
}

fn sh(command: &str) -> String {
    Command::new("sh")
        .args(["-c", command])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_default()
}

impl Report {
    pub fn new(opts: &Opts) -> Report {
        let date = sh("date -u '+%Y-%m-%d %H:%M UTC'");
        let cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
        let cores = sh("nproc --all");
        let memory = sh("free -g | awk '/Mem:/ {print $2}'");
        let commit = sh("git rev-parse --short HEAD 2>/dev/null");
        let changed = sh("git status --porcelain -- src migrations Cargo.toml 2>/dev/null | wc -l");
        let commit = match (commit.as_str(), changed.as_str()) {
            ("", _) => "an unknown commit".to_string(),
            (c, "0") => format!("commit {c}"),
            (c, _) => format!("commit {c} with local changes under src/"),
        };
        let mut header = String::new();
        let _ = writeln!(
            header,
            "Measured {date} at {commit} on {cpu}, {cores} cores, {memory} GiB RAM (a shared VM: \
             other builds ran beside the bench). Server pinned to core {}, load generator to the other core. \
             Load average (1 / 5 / 15 min) at the start: {}.",
            opts.server_cpu.map_or("(none)".into(), |c| c.to_string()),
            load_average()
        );
        let _ = writeln!(
            header,
            "\nPeak: closed loop, {} connections × {} streams, {:.1} s warm-up then {:.1} s measured. \
             Half peak: open loop at half the peak rate for {:.1} s (latency from the send; the \
             in-flight cap of 8192 was never reached unless a row says so). CPU: the server's, the \
             load generator's, and other processes' share of the server's core and of the load \
             generator's core over the window (100 = one core; from /proc); the loadgen at ~100 means the load, not the server, was \
             the bound.",
            opts.connections,
            opts.streams,
            opts.warmup.as_secs_f64(),
            opts.duration.as_secs_f64(),
            opts.duration.as_secs_f64()
        );
        Report {
            header,
            check_cpu_us: Default::default(),
            rows: Vec::new(),
            targets: Vec::new(),
            memory: None,
            notes: Vec::new(),
            load_at_end: None,
        }
    }

    pub fn throughput(
        &mut self,
        call: &str,
        db: &str,
        measured: Measured,
        ceiling: f64,
        target: Option<f64>,
    ) {
        if call.contains("Health/Check") {
            self.check_cpu_us
                .insert(db.to_owned(), measured.peak.cpu_us_per_call());
        }
        let ceiling_cpu_us = self.check_cpu_us.get(db).copied().flatten();
        self.rows.push(Row {
            call: call.into(),
            db: db.into(),
            measured,
            ceiling,
            ceiling_cpu_us,
            target,
        });
    }

    pub fn target(&mut self, target: Target) {
        self.targets.push(target);
    }

    pub fn note(&mut self, note: &str) {
        self.notes.push(note.into());
    }

    pub fn memory(&mut self, phases: Vec<(String, f64, f64)>, n: u64, took: Duration) {
        let mut table = String::from("| after | server RSS | Δ per entry |\n|---|---:|---:|\n");
        let mut previous: Option<f64> = None;
        for (phase, rss, entries) in phases {
            let delta = match previous {
                Some(prev) if entries > 0.0 => format!("{:.0} B", (rss - prev) * 1e6 / entries),
                _ => "—".into(),
            };
            let _ = writeln!(table, "| {phase} | {rss:.0} MB | {delta} |");
            previous = Some(rss);
        }
        let _ = writeln!(
            table,
            "\n({n} RequestCode + {n} VerifyCode + {n} RequestCode took {:.0} s.)",
            took.as_secs_f64()
        );
        self.memory = Some(table);
    }

    /// The per-store breakdown printed by `loadgen store-memory` (`name  N B/entry` lines).
    pub fn store_memory(&mut self, lines: &str, n: u64) {
        let mut table = format!(
            "\nBytes per entry of each in-memory store, {n} entries inserted straight into the \
             store in a fresh process (`loadgen store-memory`):\n\n| entry | RSS per entry |\n|---|---:|\n"
        );
        for line in lines.lines().filter(|l| l.ends_with("B/entry")) {
            let mut parts = line.rsplitn(3, ' ').filter(|p| !p.is_empty());
            let (_, bytes) = (parts.next(), parts.next().unwrap_or("?"));
            let name = line[..line.len() - "B/entry".len()]
                .trim_end()
                .trim_end_matches(bytes)
                .trim();
            let _ = writeln!(table, "| {name} | {bytes} B |");
        }
        self.memory.get_or_insert_with(String::new).push_str(&table);
    }

    pub fn finish(&mut self) {
        self.load_at_end = Some(load_average());
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.markdown())
    }

    fn markdown(&self) -> String {
        let mut md = self.header.clone();
        if !self.rows.is_empty() {
            md.push_str(
                "\n| call | database | peak calls/s | ÷ Check | target | ÷ Check by server CPU/call | CPU % server / loadgen / others on server core / others on load core | server CPU µs/call \
                 | p50 / p99 / p999 at peak (ms) | half-peak calls/s | p50 / p99 / p999 at half peak (ms) | p99 ≤ 5 ms at half peak |\n\
                 |---|---|---:|---:|---|---:|---:|---:|---|---:|---|---|\n",
            );
            for row in &self.rows {
                let peak = &row.measured.peak;
                let ratio = peak.rps() / row.ceiling;
                let target = match row.target {
                    Some(min) => format!(
                        "≥ {min} {}",
                        if ratio >= min { "met" } else { "**not met**" }
                    ),
                    None => "—".into(),
                };
                let (half_rate, half_lat, p99_ok) = match &row.measured.half {
                    Some(h) => (
                        format!("{:.0}", h.rps()),
                        format!(
                            "{} (CPU {}){}",
                            latencies(h),
                            cpu_cell(h),
                            if h.capped { " (in-flight cap hit)" } else { "" }
                        ),
                        if h.ms(0.99) <= 5.0 {
                            "met".to_string()
                        } else {
                            "**not met**".to_string()
                        },
                    ),
                    None => ("—".into(), "—".into(), "—".into()),
                };
                let errors = [Some(peak), row.measured.half.as_ref()]
                    .into_iter()
                    .flatten()
                    .filter(|s| s.errors > 0)
                    .map(|s| {
                        format!(
                            " ({} errors: {})",
                            s.errors,
                            s.first_error.clone().unwrap_or_default()
                        )
                    })
                    .collect::<String>();
                let _ = writeln!(
                    md,
                    "| {}{errors} | {} | {:.0} | {:.2} | {target} | {} | {} | {} | {} | {half_rate} | {half_lat} | {p99_ok} |",
                    row.call,
                    row.db,
                    peak.rps(),
                    ratio,
                    match (row.ceiling_cpu_us, peak.cpu_us_per_call()) {
                        (Some(check), Some(call)) => format!("{:.2}", check / call),
                        _ => "—".into(),
                    },
                    cpu_cell(peak),
                    peak.cpu_us_per_call()
                        .map_or("—".into(), |us| format!("{us:.0}")),
                    latencies(peak),
                );
            }
        }
        if !self.targets.is_empty() {
            md.push_str("\n| target | measured | target | met |\n|---|---|---|---|\n");
            for t in &self.targets {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    t.what,
                    t.measured,
                    t.target,
                    if t.met { "met" } else { "**not met**" }
                );
            }
        }
        if let Some(memory) = &self.memory {
            md.push_str("\nMemory (server RSS from /proc/<pid>/status VmRSS):\n\n");
            md.push_str(memory);
        }
        if !self.notes.is_empty() || self.load_at_end.is_some() {
            md.push('\n');
            for note in &self.notes {
                let _ = writeln!(md, "- {note}");
            }
            if let Some(load) = &self.load_at_end {
                let _ = writeln!(md, "- Load average at the end: {load}.");
            }
        }
        md
    }
}

/// "server / load generator / other processes on the server's core" CPU, in % of one core.
fn cpu_cell(stats: &Stats) -> String {
    let pct = |v: Option<f64>| v.map_or("—".into(), |c| format!("{:.0}", c * 100.0));
    format!(
        "{} / {} / {} / {}",
        pct(stats.server_cpu),
        pct(stats.client_cpu),
        pct(stats.others_on_server_core),
        pct(stats.others_on_load_core)
    )
}

fn latencies(stats: &Stats) -> String {
    format!(
        "{:.2} / {:.2} / {:.2}",
        stats.ms(0.5),
        stats.ms(0.99),
        stats.ms(0.999)
    )
}
