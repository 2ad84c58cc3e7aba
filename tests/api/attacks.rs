//! Tests that attack the real server: brute force over a simulated day, races against the
//! budgets, and enumeration probes.
use std::time::{Duration, Instant};

use phone_auth::proto::{RequestCodeRequest, VerifyCodeRequest};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{Backing, TestApp, all_at_once, retry_delay};

const VICTIM: &str = "+79123456789";

/// On Redis, whose limit windows run on its own server clock, one real day is compressed into
/// this many seconds of wall time; on the in-process stores the day is a whole simulated day.
const COMPRESSED_DAY: f64 = 6.0;
const DAY: f64 = 86_400.0;

/// The default limits, with every window and rate scaled by `scale` (1: the defaults as shipped).
fn default_limits_scaled(scale: f64) -> Vec<(&'static str, String)> {
    let secs = |real: f64| format!("{}", real / scale);
    let per_minute = |real: f64| format!("{}", real * scale);
    vec![
        ("CODE_LENGTH", "4".into()),
        ("RESEND_INTERVAL_SECONDS", secs(60.0)),
        ("CODES_PER_PHONE", "5".into()),
        ("CODES_PER_PHONE_WINDOW_SECONDS", secs(3600.0)),
        ("WRONG_CODES_PER_PHONE", "10".into()),
        ("WRONG_CODES_WINDOW_SECONDS", secs(86_400.0)),
        ("REQUEST_CODE_PER_IP_BURST", "10".into()),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", per_minute(10.0)),
        ("VERIFY_CODE_PER_IP_BURST", "20".into()),
        ("VERIFY_CODE_PER_IP_PER_MINUTE", per_minute(30.0)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_over_a_simulated_day_gets_at_most_the_wrong_code_budget() {
    let backing = Backing::fresh().await;
    let simulated = backing.time_is_simulated();
    let scale = if simulated { 1.0 } else { DAY / COMPRESSED_DAY };
    let vars = default_limits_scaled(scale);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_on(backing, &vars).await;
    let mut client = app.client.clone();

    // The attacker guesses as fast as the service lets it and asks for a new code whenever
    // allowed. It knows (through the console sender) which guesses are wrong and uses only
    // those, so every guess the service evaluates is one spent from its budget. Its day ends
    // just short of the wrong-code window, measured on the clock the limits read.
    let day = Duration::from_secs_f64(DAY / scale * 0.95);
    let (clock, wall) = (app.backing.clock.clone(), Instant::now());
    let start = clock.now();
    let elapsed = || match simulated {
        true => Duration::from_micros((clock.now() - start) as u64),
        false => wall.elapsed(),
    };
    let (mut evaluated, mut refused, mut codes_sent, mut calls) = (0u32, 0u32, 0u32, 0u32);
    while elapsed() < day && calls < 20_000 {
        calls += 1;
        let code = match client
            .request_code(RequestCodeRequest {
                phone_number: VICTIM.into(),
            })
            .await
        {
            Ok(response) => {
                codes_sent += 1;
                response.into_inner().debug_code
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                let wait = retry_delay(&status).min(day.saturating_sub(elapsed()));
                app.advance(wait.max(Duration::from_micros(1))).await;
                continue;
            }
        };
        for guess in (0..10_000)
            .map(|n| format!("{n:04}"))
            .filter(|g| *g != code)
            .take(5)
        {
            calls += 1;
            let status = client
                .verify_code(VerifyCodeRequest {
                    phone_number: VICTIM.into(),
                    verification_code: guess,
                })
                .await
                .expect_err("every guess is wrong");
            match status.code() {
                Code::InvalidArgument => evaluated += 1,
                Code::ResourceExhausted => {
                    refused += 1;
                    break;
                }
                other => panic!("unexpected {other:?}: {status:?}"),
            }
        }
    }
    let success_probability = f64::from(evaluated) / 10_000.0;
    eprintln!(
        "brute force, one simulated day: {codes_sent} codes sent, {evaluated} guesses evaluated, \
         {refused} refused, {calls} calls; success probability ≤ {:.4} %",
        success_probability * 100.0
    );
    assert_eq!(
        evaluated, 10,
        "the attacker gets exactly the daily wrong-code budget"
    );
    assert!(refused > 0, "the lockout was reached");
    assert!(success_probability <= 0.001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_guesses_cannot_exceed_the_budget() {
    let app = TestApp::spawn_with(&[("WRONG_CODES_PER_PHONE", "10")]).await;
    let code = app.request_code(VICTIM).await;
    let guesses = (0..10_000)
        .map(|n| format!("{n:04}"))
        .filter(|g| *g != code)
        .take(60);
    let results = all_at_once(guesses.map(|guess| {
        let mut client = app.client.clone();
        async move {
            client
                .verify_code(VerifyCodeRequest {
                    phone_number: VICTIM.into(),
                    verification_code: guess,
                })
                .await
        }
    }))
    .await;
    let count = |code| {
        results
            .iter()
            .filter(|r| r.as_ref().err().map(|s| s.code()) == Some(code))
            .count()
    };
    assert_eq!(
        count(Code::InvalidArgument),
        10,
        "exactly the budget is evaluated"
    );
    assert_eq!(count(Code::ResourceExhausted), 50);
    let status = app.verify(VICTIM, &code).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "even the right code is refused now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_code_requests_for_one_phone_send_one_sms_within_the_cooldown() {
    let app = TestApp::spawn_with(&[("RESEND_INTERVAL_SECONDS", "60")]).await;
    let results = all_at_once((0..20).map(|_| {
        let mut client = app.client.clone();
        async move {
            client
                .request_code(RequestCodeRequest {
                    phone_number: VICTIM.into(),
                })
                .await
        }
    }))
    .await;
    let sent: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(sent.len(), 1, "{results:?}");
    for refusal in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refusal.code(), Code::ResourceExhausted);
        assert!(retry_delay(refusal) <= Duration::from_secs(60));
    }
    let code = sent[0].get_ref().debug_code.clone();
    app.verify(VICTIM, &code)
        .await
        .expect("the one code sent is the live one");
}

#[tokio::test]
async fn request_and_verify_answer_alike_for_registered_and_unknown_phones() {
    let app = TestApp::spawn().await;
    let registered = "+79120000001";
    let unknown = "+79120000002";
    app.login(registered).await;

    let mut client = app.client.clone();
    let a = client
        .request_code(RequestCodeRequest {
            phone_number: registered.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let b = client
        .request_code(RequestCodeRequest {
            phone_number: unknown.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (a.expires_in_seconds, a.resend_after_seconds, a.code_length),
        (b.expires_in_seconds, b.resend_after_seconds, b.code_length)
    );

    let wrong = |code: &str| {
        if code == "0000" {
            "1111".to_string()
        } else {
            "0000".to_string()
        }
    };
    let a = app
        .verify(registered, &wrong(&a.debug_code))
        .await
        .unwrap_err();
    let b = app
        .verify(unknown, &wrong(&b.debug_code))
        .await
        .unwrap_err();
    assert_eq!((a.code(), a.message()), (b.code(), b.message()));
    assert_eq!(
        format!("{:?}", a.get_details_error_info()),
        format!("{:?}", b.get_details_error_info())
    );
}
