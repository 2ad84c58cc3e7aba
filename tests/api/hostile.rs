//! The hostile-input test of issue #11: 10⁵ generated calls against the real server — random
//! bytes, spoiled valid messages, text that is not UTF-8, huge and odd strings, broken gRPC
//! framing and bad metadata, over every RPC — and not one answers INTERNAL or UNKNOWN.
//!
//! The calls are made by a seeded generator and printed with their seed on failure. Rerun with
//! `HOSTILE_SEED=<seed>`, and add `HOSTILE_CASE=<index>` to send one call alone.
mod framing;
mod generate;
mod messages;
mod odd_values;
mod send;

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use futures::StreamExt;
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use self::{
    generate::{Call, Kind},
    send::{Outcome, Tokens},
};
use crate::helpers::{ADMIN_PHONE, TestApp, phone};

const CALLS: u64 = 100_000;
/// Worker tasks, each with a connection of its own; HugeMetadata calls (whose GOAWAY takes
/// every call on their connection down with them) share one more connection.
const WORKERS: u64 = 8;
/// Calls in flight per worker.
const IN_FLIGHT: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_hostile_calls_get_no_internal_or_unknown_and_the_server_lives_on() {
    let seed = std::env::var("HOSTILE_SEED")
        .map(|seed| seed.parse().expect("HOSTILE_SEED is a u64"))
        .unwrap_or_else(|_| rand::random());
    let indices: Vec<u64> = match std::env::var("HOSTILE_CASE") {
        Ok(index) => vec![index.parse().expect("HOSTILE_CASE is a u64")],
        Err(_) => (0..CALLS).collect(),
    };
    println!("hostile: HOSTILE_SEED={seed}, {} calls", indices.len());
    let limit = generate::LIMIT.to_string();
    let app = TestApp::spawn_with(&[("MAX_REQUEST_BYTES", &limit)]).await;
    let tokens = Arc::new(Tokens {
        caller: app.login(ADMIN_PHONE).await.token,
        sacrificed: app.login(&phone(1)).await.token,
    });
    let quarantine = app.channel().await;

    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let mine = indices.iter().copied().skip(worker as usize);
        let mine: Vec<u64> = mine.step_by(WORKERS as usize).collect();
        let channels = [app.channel().await, quarantine.clone()];
        workers.push(tokio::spawn(run(seed, mine, channels, tokens.clone())));
    }
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await.expect("a worker panicked"));
    }
    println!(
        "hostile: {} calls in {:?}; {} refused by HTTP/2 without a gRPC status (allowed only \
         for HugeMetadata)",
        tally.calls,
        started.elapsed(),
        tally.refused_by_http2
    );
    for ((kind, path, outcome), count) in &tally.census {
        println!("  {kind:?} {path} -> {outcome}: {count}");
    }

    assert_eq!(tally.calls, indices.len() as u64, "every call was sent");
    if !tally.failures.is_empty() {
        let shown = tally.failures.iter().take(20).cloned().collect::<Vec<_>>();
        panic!(
            "HOSTILE_SEED={seed}: {} of {} calls were answered wrongly; the first:\n{}",
            tally.failures.len(),
            tally.calls,
            shown.join("\n")
        );
    }
    the_server_lives_on(&app).await;
}

/// After the storm, a user still logs in and health still says SERVING.
async fn the_server_lives_on(app: &TestApp) {
    let user = app.login(&phone(2)).await;
    assert_eq!(
        app.profile(&user.token).await.unwrap().phone_number,
        phone(2)
    );
    let mut health = HealthClient::new(app.channel().await);
    let check = HealthCheckRequest {
        service: "phoneauth.v1.AuthService".into(),
    };
    let answer = health.check(check).await.unwrap().into_inner();
    assert_eq!(answer.status(), ServingStatus::Serving);
}

/// One worker: its share of the calls, `IN_FLIGHT` at a time on its connection (HugeMetadata
/// calls on the quarantine connection).
async fn run(seed: u64, indices: Vec<u64>, channels: [Channel; 2], tokens: Arc<Tokens>) -> Tally {
    let [channel, quarantine] = &channels;
    let tokens = &tokens;
    let mut answers = futures::stream::iter(indices)
        .map(|index| async move {
            let call = generate::call(seed, index);
            let channel = match call.kind {
                Kind::HugeMetadata => quarantine,
                _ => channel,
            };
            let outcome = send::send(channel, &call, tokens).await;
            (index, call, outcome)
        })
        .buffer_unordered(IN_FLIGHT);
    let mut tally = Tally::default();
    while let Some((index, call, outcome)) = answers.next().await {
        tally.calls += 1;
        tally.refused_by_http2 += u64::from(!matches!(outcome, Outcome::Status { .. }));
        let path = call.rpc.path.rsplit('/').next().unwrap_or_default();
        *tally
            .census
            .entry((call.kind, path.to_string(), label(&outcome)))
            .or_default() += 1;
        if let Err(why) = judge(&call, &outcome) {
            tally.failures.push(format!(
                "  case {index}: {:?} to {}, authorization {:?}, metadata {:?}, body {} \
                 -> {outcome:?}: {why}",
                call.kind,
                call.rpc.path,
                call.authorization,
                call.metadata
                    .iter()
                    .map(|(n, v)| (n, hex(v)))
                    .collect::<Vec<_>>(),
                hex(&call.body),
            ));
        }
    }
    tally
}

/// Whether `outcome` is a right answer to `call`.
fn judge(call: &Call, outcome: &Outcome) -> Result<(), String> {
    let (code, details) = match outcome {
        Outcome::Status { code, details, .. } => (*code, *details),
        // A header block over the server's limit is refused by h2 itself, before any gRPC
        // code runs: 431 when it is over, GOAWAY (the whole connection) when far over.
        Outcome::Http(431) | Outcome::Transport(_) if call.kind == Kind::HugeMetadata => {
            return Ok(());
        }
        _ => return Err("no gRPC status".into()),
    };
    if matches!(code, Code::Internal | Code::Unknown) {
        return Err("INTERNAL and UNKNOWN mean a bug in the server, not in the request".into());
    }
    if !call.rpc.is_auth_service() {
        return Ok(());
    }
    // Every error AuthService answers is ours: tonic's own words would come without details.
    if code != Code::Ok && !details {
        return Err("an error without our details".into());
    }
    let expected = match call.kind {
        Kind::Oversize => Some(Code::ResourceExhausted),
        Kind::CompressedWithoutEncoding
        | Kind::InvalidFlag
        | Kind::EmptyBody
        | Kind::TwoMessages
        | Kind::TruncatedFrame => Some(Code::InvalidArgument),
        Kind::UnsupportedEncoding => Some(Code::Unimplemented),
        _ => None,
    };
    match expected {
        Some(expected) if code != expected => Err(format!("expected {expected:?}")),
        _ => Ok(()),
    }
}

/// Counts by kind, method and outcome, and every wrong answer described for reproduction.
#[derive(Default)]
struct Tally {
    calls: u64,
    /// Calls that h2 refused without a gRPC status (a 431, or a reset).
    refused_by_http2: u64,
    census: BTreeMap<(Kind, String, String), u64>,
    failures: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.calls += other.calls;
        self.refused_by_http2 += other.refused_by_http2;
        for (key, count) in other.census {
            *self.census.entry(key).or_default() += count;
        }
        self.failures.extend(other.failures);
    }
}

/// An outcome's line in the census: the code, or the kind of failure.
fn label(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status { code, details, .. } => {
            format!("{code:?}{}", ["", "+details"][*details as usize])
        }
        Outcome::Http(status) => format!("HTTP {status}"),
        Outcome::Transport(error) => format!("transport error {}", truncate(error, 80)),
        Outcome::NoStatus => "no status".into(),
        Outcome::Silence => "silence".into(),
    }
}

/// The first 64 bytes in hex, and how many there were.
fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(64).map(|b| format!("{b:02x}")).collect();
    match bytes.len() > 64 {
        true => format!("{shown}… ({} bytes)", bytes.len()),
        false => shown,
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}
