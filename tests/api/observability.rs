//! Metrics, JSON logs and the binary's subcommands, seen from outside.
mod rpc_metrics;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use phone_auth::proto::{RequestCodeRequest, auth_service_client::AuthServiceClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, authed, phone};

/// GET /metrics over a plain TCP connection.
pub(crate) async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The sum of every sample of `name` whose labels contain all of `labels`.
pub(crate) fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .filter(|line| line[name.len()..].starts_with(['{', ' ']))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_what_the_service_did() {
    let app =
        TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0"), ("CODES_PER_PHONE", "1")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let before = scrape(metrics).await;

    let inviter = app.login(&phone(1)).await;
    let user = app.login(&phone(2)).await;
    app.set_inviter(&user.token, &inviter.profile.invite_code)
        .await
        .unwrap();
    app.verify(&phone(3), "0000").await.unwrap_err();
    app.client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: phone(1),
        })
        .await
        .unwrap_err(); // 2nd code: throttled
    app.profile(&"A".repeat(43)).await.unwrap_err();
    app.client
        .clone()
        .logout(authed(&user.token, phone_auth::proto::LogoutRequest {}))
        .await
        .unwrap();

    let after = scrape(metrics).await;
    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert!(
        moved(
            "phoneauth_rpc_requests_total",
            &[r#"method="VerifyCode""#, r#"code="OK""#]
        ) >= 2.0
    );
    assert!(
        moved(
            "phoneauth_rpc_requests_total",
            &[r#"method="GetProfile""#, r#"code="UNAUTHENTICATED""#]
        ) >= 1.0
    );
    assert!(
        moved(
            "phoneauth_rpc_duration_seconds_count",
            &[r#"method="SetInviter""#]
        ) >= 1.0
    );
    assert!(
        after.contains("phoneauth_rpc_duration_seconds_bucket"),
        "latency is a histogram"
    );
    assert!(moved("phoneauth_sms_sent_total", &[r#"provider="console""#]) >= 2.0);
    assert!(moved("phoneauth_verifications_total", &[r#"result="success""#]) >= 2.0);
    assert!(moved("phoneauth_verifications_total", &[r#"result="wrong_code""#]) >= 1.0);
    assert!(moved("phoneauth_throttled_total", &[r#"limit="codes_per_phone""#]) >= 1.0);
    assert!(moved("phoneauth_referral_links_total", &[]) >= 1.0);
    if app.backing.redis.is_none() {
        // In-memory stores report their sizes; with Redis, Redis' own keyspace metrics do.
        assert!(
            after.contains("phoneauth_sessions_live") && after.contains("phoneauth_codes_pending")
        );
    }
}

/// The binary as a person runs it, with JSON logs on stdout collected line by line.
struct Process {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Process {
    fn start(dir: &std::path::Path, vars: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phone-auth"))
            .current_dir(dir)
            .env_clear()
            .envs([
                ("LISTEN_ADDR", "127.0.0.1:0"),
                ("LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
            ])
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads log lines until one satisfies `found` (bounded).
    fn wait_for(&mut self, found: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the expected log line");
            self.seen.push(line.clone());
            let json: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
            if found(&json) {
                return json;
            }
        }
    }

    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.try_iter());
        (status, self.seen)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_json_never_logs_tokens_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::start(dir.path(), &[]);
    let serving = server.wait_for(|line| line["fields"]["message"] == "phone-auth serving gRPC");
    let addr = serving["fields"]["addr"].as_str().unwrap().to_string();

    let healthcheck = |addr: &str| {
        Command::new(env!("CARGO_BIN_EXE_phone-auth"))
            .arg("healthcheck")
            .env_clear()
            .env("LISTEN_ADDR", addr)
            .status()
            .unwrap()
    };
    assert!(
        healthcheck(&addr).success(),
        "healthcheck exits 0 while serving"
    );

    let mut client = AuthServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let phone = phone(1);
    let code = client
        .request_code(RequestCodeRequest {
            phone_number: phone.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .debug_code;
    let token = client
        .verify_code(phone_auth::proto::VerifyCodeRequest {
            phone_number: phone,
            verification_code: code.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .session_token;
    client
        .logout(authed(&token, phone_auth::proto::LogoutRequest {}))
        .await
        .unwrap();

    let (status, lines) = server.terminate();
    assert!(
        status.success(),
        "SIGTERM drains and exits 0, got {status:?}"
    );
    assert!(
        !healthcheck(&addr).success(),
        "healthcheck exits 1 when nothing serves"
    );
    assert!(lines.iter().any(|l| l.contains("shutting down")));
    for line in &lines {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            !line.contains(&token),
            "a session token reached the log: {line}"
        );
        if line.contains(&format!("\"{code}\"")) {
            assert_eq!(
                json["target"], "phone_auth::sms::console",
                "only the console sender logs codes: {line}"
            );
        }
    }
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_phone-auth"))
        .arg("migrate")
        .current_dir(dir.path())
        .env_clear()
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        dir.path().join("phone-auth.db").exists(),
        "the default SQLite file is created and migrated"
    );
}

#[test]
fn help_lists_every_setting_and_a_bad_value_names_its_variable() {
    let help = Command::new(env!("CARGO_BIN_EXE_phone-auth"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    for setting in [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "CODE_LENGTH",
        "ADMIN_PHONES",
        "METRICS_ADDR",
        "TLS_CERT_FILE",
    ] {
        assert!(text.contains(setting), "--help lacks {setting}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_phone-auth"))
        .env_clear()
        .env("CODE_LENGTH", "12")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("CODE_LENGTH") && stderr.contains("4 to 8"),
        "{stderr}"
    );
}
