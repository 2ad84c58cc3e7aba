//! Driving load: a closed loop (N streams, each sends its next call when the last returns) for
//! peak throughput, and an open loop (calls sent on a fixed schedule) for latency at a set rate.
use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tonic::{Status, transport::Channel};

use crate::server::CpuClock;

pub type OpFuture = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;
/// One call of a scenario, given the channel to send it on and its sequence number (from 0),
/// which picks its input (a distinct phone, a pending code, a session token…).
pub type Op = Arc<dyn Fn(Channel, u64) -> OpFuture + Send + Sync>;

/// Makes an [`Op`] from a closure returning a future.
pub fn op<F, Fut>(f: F) -> Op
where
    F: Fn(Channel, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
{
    Arc::new(move |channel, i| Box::pin(f(channel, i)))
}

/// What a run measured. Latencies are recorded in microseconds.
pub struct Stats {
    /// Calls that completed inside the measured window (successes and errors).
    pub completed: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Sequence numbers handed out, measured or not (how much of an input pool was used).
    pub issued: u64,
    pub elapsed: Duration,
    pub hist: Histogram<u64>,
    /// Server CPU time over the window divided by the window (1.0 = one core fully busy).
    pub server_cpu: Option<f64>,
    /// Share of the server's core used by other processes meanwhile (noise).
    pub others_on_server_core: Option<f64>,
    /// The same for this process, the load generator (near 100%: the load may be the bound).
    pub client_cpu: Option<f64>,
    /// Share of the load generator's core used by other processes meanwhile (noise).
    pub others_on_load_core: Option<f64>,
    /// Open loop only: how late the scheduler sent calls (p99, µs), and whether the in-flight
    /// cap ever held a call back (then latency is measured from the intended send time).
    pub send_lag_p99_us: Option<u64>,
    pub capped: bool,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        (self.completed - self.errors) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency at quantile `q`, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// Server CPU microseconds per successful call.
    pub fn cpu_us_per_call(&self) -> Option<f64> {
        self.server_cpu
            .map(|busy| busy * 1e6 / self.rps().max(1e-9))
    }

    pub fn summary(&self) -> String {
        format!(
            "{:>9.0} rps  p50 {:>7.3} ms  p99 {:>7.3} ms  p999 {:>7.3} ms  errors {}{}{}{}{}{}{}",
            self.rps(),
            self.ms(0.5),
            self.ms(0.99),
            self.ms(0.999),
            self.errors,
            self.server_cpu
                .map(|c| format!("  server CPU {:.0}%", c * 100.0))
                .unwrap_or_default(),
            self.client_cpu
                .map(|c| format!("  loadgen CPU {:.0}%", c * 100.0))
                .unwrap_or_default(),
            self.others_on_server_core
                .map(|c| format!("  others on server core {:.0}%", c * 100.0))
                .unwrap_or_default(),
            self.others_on_load_core
                .map(|c| format!(" / load core {:.0}%", c * 100.0))
                .unwrap_or_default(),
            self.send_lag_p99_us
                .map(|lag| format!(
                    "  send lag p99 {lag} µs{}",
                    if self.capped { " (cap hit)" } else { "" }
                ))
                .unwrap_or_default(),
            self.first_error
                .as_ref()
                .map(|e| format!("  first error: {e}"))
                .unwrap_or_default(),
        )
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

/// Connections and streams a run uses.
#[derive(Clone)]
pub struct Load {
    pub channels: Vec<Channel>,
    /// Streams kept busy per connection in the closed loop.
    pub streams: usize,
}

impl Load {
    pub fn with_streams(&self, channels: usize, streams: usize) -> Load {
        Load {
            channels: self
                .channels
                .iter()
                .take(channels.max(1))
                .cloned()
                .collect(),
            streams,
        }
    }
}

struct Worker {
    hist: Histogram<u64>,
    completed: u64,
    errors: u64,
    first_error: Option<String>,
    last_end: Option<Instant>,
}

/// Closed loop: every stream sends its next call as soon as the previous one returns, for
/// `warmup` (not recorded) then `duration`, or until `limit` calls were issued.
pub async fn closed(
    load: &Load,
    op: Op,
    warmup: Duration,
    duration: Duration,
    limit: u64,
    cpu: Option<&CpuClock>,
) -> Stats {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let stop_at = measure_from + duration;
    let cpu_probe =
        cpu.map(|clock| tokio::spawn(clock.clone().busy_with_others(measure_from, stop_at)));
    let client_probe = tokio::spawn(CpuClock::own().busy_with_others(measure_from, stop_at));
    let mut tasks = Vec::new();
    for channel in &load.channels {
        for _ in 0..load.streams {
            let (op, next, channel) = (op.clone(), next.clone(), channel.clone());
            tasks.push(tokio::spawn(async move {
                let mut w = Worker {
                    hist: histogram(),
                    completed: 0,
                    errors: 0,
                    first_error: None,
                    last_end: None,
                };
                loop {
                    let sent = Instant::now();
                    if sent >= stop_at {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= limit {
                        break;
                    }
                    let result = op(channel.clone(), i).await;
                    let end = Instant::now();
                    if end >= measure_from && end <= stop_at {
                        w.completed += 1;
                        w.last_end = Some(end);
                        let _ = w.hist.record((end - sent).as_micros().max(1) as u64);
                    }
                    // Errors count whenever they happen: a scenario that fails only during
                    // the warm-up (a limit, a spent pool) must not read as a clean 0 rps.
                    if let Err(status) = result {
                        w.errors += 1;
                        w.first_error.get_or_insert_with(|| status_line(&status));
                    }
                }
                w
            }));
        }
    }
    let mut stats = Stats {
        completed: 0,
        errors: 0,
        first_error: None,
        issued: 0,
        elapsed: Duration::ZERO,
        hist: histogram(),
        server_cpu: None,
        others_on_server_core: None,
        client_cpu: None,
        others_on_load_core: None,
        send_lag_p99_us: None,
        capped: false,
    };
    let mut last_end = measure_from;
    for task in tasks {
        let w = task.await.expect("load worker");
        stats.completed += w.completed;
        stats.errors += w.errors;
        if stats.first_error.is_none() {
            stats.first_error = w.first_error;
        }
        last_end = last_end.max(w.last_end.unwrap_or(measure_from));
        stats.hist.add(&w.hist).expect("same bounds");
    }
    stats.issued = next.load(Ordering::Relaxed).min(limit);
    // A pool that ran dry ends the window early: rate over the time actually loaded.
    stats.elapsed = last_end.min(stop_at) - measure_from;
    // A pool that ran dry leaves the server idle for part of the window: no CPU figure then.
    if let Some(probe) = cpu_probe {
        if stats.issued >= limit {
            probe.abort();
        } else {
            let busy = probe.await.ok().flatten();
            stats.server_cpu = busy.map(|b| b.0);
            stats.others_on_server_core = busy.and_then(|b| b.1);
        }
    }
    if stats.issued >= limit {
        client_probe.abort();
    } else {
        let busy = client_probe.await.ok().flatten();
        stats.client_cpu = busy.map(|b| b.0);
        stats.others_on_load_core = busy.and_then(|b| b.1);
    }
    stats
}

/// Open loop: `rate` calls per second on a fixed schedule for `duration` (at most `limit`
/// calls), whatever the answers do, with at most `max_in_flight` outstanding.
pub async fn open(
    load: &Load,
    op: Op,
    rate: f64,
    duration: Duration,
    limit: u64,
    max_in_flight: usize,
    cpu: Option<&CpuClock>,
) -> Stats {
    let total = ((rate * duration.as_secs_f64()).round() as u64)
        .min(limit)
        .max(1);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let shared = Arc::new(Mutex::new(Worker {
        hist: histogram(),
        completed: 0,
        errors: 0,
        first_error: None,
        last_end: None,
    }));
    let mut lag = histogram();
    let mut capped = false;
    let start = Instant::now() + Duration::from_millis(5);
    let planned_end = start + Duration::from_secs_f64(total as f64 / rate);
    let cpu_probe =
        cpu.map(|clock| tokio::spawn(clock.clone().busy_with_others(start, planned_end)));
    let client_probe = tokio::spawn(CpuClock::own().busy_with_others(start, planned_end));
    for i in 0..total {
        let intended = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(intended.into()).await;
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                capped = true;
                slots.clone().acquire_owned().await.expect("semaphore open")
            }
        };
        let sent = Instant::now();
        let _ = lag.record((sent - intended).as_micros().max(1) as u64);
        // Latency counts from the send, unless the cap held the call back: then from the
        // schedule, so that a stalled server is not hidden (coordinated omission).
        let from = if capped { intended } else { sent };
        let channel = load.channels[i as usize % load.channels.len()].clone();
        let (op, shared) = (op.clone(), shared.clone());
        tokio::spawn(async move {
            let result = op(channel, i).await;
            let end = Instant::now();
            let mut w = shared.lock().expect("stats lock");
            w.completed += 1;
            w.last_end = Some(w.last_end.map_or(end, |last| last.max(end)));
            let _ = w.hist.record((end - from).as_micros().max(1) as u64);
            if let Err(status) = result {
                w.errors += 1;
                w.first_error.get_or_insert_with(|| status_line(&status));
            }
            drop(permit);
        });
    }
    let _all = slots
        .acquire_many(max_in_flight as u32)
        .await
        .expect("semaphore open");
    let w = Arc::try_unwrap(shared)
        .ok()
        .expect("all calls done")
        .into_inner()
        .expect("stats lock");
    let elapsed = w.last_end.unwrap_or(start).max(planned_end) - start;
    let busy = match cpu_probe {
        Some(probe) => probe.await.ok().flatten(),
        None => None,
    };
    let client_busy = client_probe.await.ok().flatten();
    Stats {
        completed: w.completed,
        errors: w.errors,
        first_error: w.first_error,
        issued: total,
        elapsed,
        hist: w.hist,
        server_cpu: busy.map(|b| b.0),
        others_on_server_core: busy.and_then(|b| b.1),
        client_cpu: client_busy.map(|b| b.0),
        others_on_load_core: client_busy.and_then(|b| b.1),
        send_lag_p99_us: Some(lag.value_at_quantile(0.99)),
        capped,
    }
}

fn status_line(status: &Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}
