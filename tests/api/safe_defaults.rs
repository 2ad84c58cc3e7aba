//! Safe as shipped: the console sender stays on loopback, satellite and international-network
//! numbers are refused unless named, Redis speaks TLS, and no connection error shows a password.
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use phone_auth::{
    proto::RequestCodeRequest,
    store::{Database, Redis},
};
use tokio::{io::AsyncWriteExt, net::TcpListener};
use tonic::Code;

use crate::helpers::{TestApp, assert_status, bad_request_field};

fn binary(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phone-auth"));
    command
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", "sqlite://phone-auth.db?mode=rwc");
    command
}

#[test]
fn the_console_sender_refuses_to_start_on_an_address_other_machines_can_reach() {
    let dir = tempfile::tempdir().unwrap();
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let mut server = binary(dir.path())
            .env("LISTEN_ADDR", addr)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded, so that a server that does start fails the test instead of hanging it.
        let started = std::time::Instant::now();
        while server.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if server.try_wait().unwrap().is_none() {
            server.kill().unwrap();
            server.wait().unwrap();
            panic!("the console sender is serving on {addr}");
        }
        let refused = server.wait_with_output().unwrap();
        assert_eq!(refused.status.code(), Some(2), "{addr}");
        let stderr = String::from_utf8(refused.stderr).unwrap();
        for what in [
            "LISTEN_ADDR",
            "SMS_PROVIDER",
            "DANGEROUSLY_EXPOSE_DEBUG_CODES=true",
        ] {
            assert!(stderr.contains(what), "{stderr:?} lacks {what:?}");
        }
    }
}

#[test]
fn the_dangerous_setting_serves_debug_codes_beyond_loopback_with_an_error_logged_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = binary(dir.path())
        .envs([
            ("LISTEN_ADDR", "0.0.0.0:0"),
            ("DANGEROUSLY_EXPOSE_DEBUG_CODES", "true"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut errors = Vec::new();
    // The serving line comes within a second or two; the bound only stops a broken build
    // from hanging the suite (lines end when the process exits).
    for line in lines.by_ref().map_while(Result::ok).take(100) {
        let json: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
        if json["level"] == "ERROR" {
            errors.push(json["fields"]["message"].to_string());
        }
        if json["fields"]["message"] == "phone-auth serving gRPC" {
            break;
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("DANGEROUSLY_EXPOSE_DEBUG_CODES") && e.contains("debug_code")),
        "no error-level line about exposed debug codes: {errors:?}"
    );
}

async fn request(app: &TestApp, phone: &str) -> Result<String, tonic::Status> {
    let request = RequestCodeRequest {
        phone_number: phone.into(),
    };
    let response = app.client.clone().request_code(request).await?;
    Ok(response.into_inner().debug_code)
}

/// Mobile-kind example numbers of libphonenumber's metadata: Inmarsat, GMSS satellite,
/// international networks.
const SATELLITE: [(&str, &str); 3] = [
    ("+870301234567", "+870"),
    ("+881612345678", "+881"),
    ("+8823421234", "+882"),
];

#[tokio::test]
async fn satellite_and_international_network_numbers_are_refused_by_default() {
    let app = TestApp::spawn().await;
    for (number, network) in SATELLITE {
        let status = assert_status(
            request(&app, number).await,
            Code::InvalidArgument,
            &format!("international network {network}"),
        );
        assert_eq!(bad_request_field(&status).as_deref(), Some("phone_number"));
    }
}

#[tokio::test]
async fn named_international_networks_are_served_even_beside_allowed_regions() {
    let app = TestApp::spawn_with(&[
        ("ALLOWED_INTERNATIONAL_NETWORKS", "+881,882"),
        ("ALLOWED_REGIONS", "RU"),
    ])
    .await;
    request(&app, "+881612345678").await.expect("+881 is named");
    request(&app, "+8823421234").await.expect("+882 is named");
    request(&app, "+79123456789").await.expect("RU is served");
    assert_status(
        request(&app, "+870301234567").await,
        Code::InvalidArgument,
        "international network +870",
    );
}

/// A local port that answers in plain text, as a Redis without TLS would.
async fn plain_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"-ERR plain TCP, not TLS\r\n").await;
        }
    });
    port
}

#[tokio::test]
async fn rediss_urls_speak_tls() {
    let port = plain_tcp_port().await;
    let url = format!("rediss://:hunter2@127.0.0.1:{port}");
    let error = Redis::connect(&url, "test:", Duration::from_secs(2))
        .await
        .err()
        .expect("a plain-TCP port cannot complete a TLS handshake");
    let text = format!("{error:#} {error:?}");
    assert!(!text.contains("not enabled"), "TLS is built in: {text}");
    assert!(
        ["tls", "corrupt message", "handshake"]
            .iter()
            .any(|sign| text.to_lowercase().contains(sign)),
        "the failure is the TLS handshake: {text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains(&format!("rediss://:****@127.0.0.1:{port}")),
        "{text}"
    );
}

#[tokio::test]
async fn connection_errors_show_the_urls_with_their_passwords_hidden() {
    let redis = Redis::connect(
        "redis://app:hunter2@127.0.0.1:1/0",
        "test:",
        Duration::from_secs(1),
    )
    .await
    .err()
    .expect("nothing listens on port 1");
    let malformed_redis = Redis::connect("redis://app:hunter2@cache:port/0", "t:", Duration::ZERO)
        .await
        .err()
        .expect("not a port");
    let postgres = Database::connect(
        "postgres://app:hunter2@127.0.0.1:1/auth?connect_timeout=1",
        1,
        Duration::from_secs(1),
    )
    .await
    .expect_err("nothing listens on port 1");
    let malformed_postgres =
        Database::connect("postgres://app:hunter2@db:port/auth", 1, Duration::ZERO)
            .await
            .expect_err("not a port");
    for error in [redis, malformed_redis, postgres, malformed_postgres] {
        let text = format!("{error:#} {error:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("app:****@"),
            "the URL is shown, redacted: {text}"
        );
    }
}
