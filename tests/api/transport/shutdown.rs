//! SIGTERM on the real binary ends the process, with exit code 0, within SHUTDOWN_GRACE_SECONDS
//! (plus the time to close the stores), whatever the clients do: a socket that never sends a
//! byte, a call whose body never ends, a health Watch left open. Nothing acknowledged is lost.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use sqlx::{Connection, SqliteConnection};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::raw_http2::{PREFACE, RawHttp2};
use crate::helpers::phone;

/// Time allowed past the grace for closing the stores and exiting.
const MARGIN: Duration = Duration::from_secs(3);

/// The binary, serving on a port of its own choosing with a SQLite file in a temp dir.
struct Binary {
    child: Child,
    addr: std::net::SocketAddr,
    database_url: String,
    _dir: tempfile::TempDir,
}

impl Binary {
    /// Starts the binary with `vars` and waits for its "serving" log line, which has the port.
    fn start(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite://{}/auth.db?mode=rwc", dir.path().display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_phone-auth"))
            .env_clear()
            .envs([
                ("LISTEN_ADDR", "127.0.0.1:0"),
                ("LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
                ("DATABASE_URL", &database_url),
            ])
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the binary logs that it serves")
                .unwrap();
            let json: serde_json::Value = serde_json::from_str(&line).unwrap();
            if json["fields"]["message"] == "phone-auth serving gRPC" {
                break json["fields"]["addr"].as_str().unwrap().parse().unwrap();
            }
        };
        // The rest of the log is drained, so that the binary never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            addr,
            database_url,
            _dir: dir,
        }
    }

    fn sigterm(&self) -> Instant {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        Instant::now()
    }

    /// Waits for the process to exit, at most `within`; past it, kills it and fails.
    async fn exits_within(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the process was still running {within:?} after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Users in the database, read after the process has exited.
    async fn users(&self) -> i64 {
        let mut db = SqliteConnection::connect(&self.database_url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut db)
            .await
            .unwrap()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_an_idle_connection_open_exits_zero_at_once() {
    let grace = Duration::from_secs(5);
    let mut server = Binary::start(&[("SHUTDOWN_GRACE_SECONDS", "5")]);
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    // The server writes nothing to a socket that has not shown its protocol (HTTP/2 or
    // HTTP/1.1). Connections are accepted in order, so once a later one that sent the HTTP/2
    // preface gets the server's SETTINGS frame, the idle one is being served too.
    let mut later = TcpStream::connect(server.addr).await.unwrap();
    later.write_all(PREFACE).await.unwrap();
    let mut first = [0u8; 9];
    later.read_exact(&mut first).await.unwrap();
    // Closed by the client now: an HTTP/2 connection is no idle socket, and its graceful close
    // waits for PINGs this raw socket would never answer.
    drop(later);

    let sent = server.sigterm();
    let status = server.exits_within(grace + MARGIN).await;
    assert!(status.success(), "exit status {status:?}");
    // A connection without a preface carries no call: it is closed when the drain begins.
    assert!(sent.elapsed() < grace, "exited after {:?}", sent.elapsed());
    // The server holds nothing of it any more. A byte is sent first: a connection the kernel
    // had not yet handed to the server (still in its accept queue when the listener closed) can
    // vanish without a FIN, and only traffic draws the peer's RST.
    let _ = idle.write_all(b"?").await;
    let mut rest = Vec::new();
    assert!(
        tokio::time::timeout(Duration::from_secs(2), idle.read_to_end(&mut rest))
            .await
            .is_ok(),
        "the idle socket is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cuts_a_half_sent_call_at_the_grace_and_loses_nothing_acknowledged() {
    let grace = Duration::from_secs(2);
    let mut server = Binary::start(&[
        ("SHUTDOWN_GRACE_SECONDS", "2"),
        // The call's own deadline is far away: only the drain deadline can end it.
        ("REQUEST_TIMEOUT_SECONDS", "120"),
    ]);
    let mut client = phone_auth::proto::auth_service_client::AuthServiceClient::connect(format!(
        "http://{}",
        server.addr
    ))
    .await
    .unwrap();
    let code = client
        .request_code(phone_auth::proto::RequestCodeRequest {
            phone_number: phone(1),
        })
        .await
        .unwrap()
        .into_inner()
        .debug_code;
    client
        .verify_code(phone_auth::proto::VerifyCodeRequest {
            phone_number: phone(1),
            verification_code: code,
        })
        .await
        .expect("VerifyCode is acknowledged: the user exists");

    // HEADERS for a RequestCode, and a body that never comes.
    let mut half_sent = RawHttp2::connect(server.addr).await;
    half_sent
        .call(1, "/phoneauth.v1.AuthService/RequestCode", &[], None)
        .await;
    half_sent.sync().await;

    let sent = server.sigterm();
    let status = server.exits_within(grace + MARGIN).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        sent.elapsed() >= grace - Duration::from_millis(200),
        "the call in flight got {:?} of its {grace:?} grace",
        sent.elapsed()
    );
    assert!(half_sent.closed_within(Duration::from_secs(1)).await);
    assert_eq!(server.users().await, 1, "the acknowledged user was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_an_open_health_watch_with_not_serving_and_does_not_wait_for_it() {
    let mut server = Binary::start(&[("SHUTDOWN_GRACE_SECONDS", "30")]);
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "phoneauth.v1.AuthService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let next = async |watch: &mut tonic::Streaming<_>| {
        tokio::time::timeout(Duration::from_secs(5), watch.message())
            .await
            .expect("the Watch reports within 5 s")
    };
    let first: Option<tonic_health::pb::HealthCheckResponse> = next(&mut watch).await.unwrap();
    assert_eq!(first.unwrap().status(), ServingStatus::Serving);

    let sent = server.sigterm();
    // The server sends NOT_SERVING and ends the stream with OK. What this client reads of it
    // may be cut short, though: the process then exits at once, and a reset that overtakes
    // frames still unread in this socket's buffer discards them (TCP's rule, not the
    // server's). So a transport error after SIGTERM is accepted; a status other than
    // NOT_SERVING, or a stream left open, is not.
    match next(&mut watch).await {
        Ok(Some(last)) => {
            assert_eq!(last.status(), ServingStatus::NotServing);
            match next(&mut watch).await {
                Ok(None) | Err(_) => {}
                Ok(Some(more)) => panic!("the Watch went on after NOT_SERVING: {more:?}"),
            }
        }
        Ok(None) => panic!("the Watch ended without reporting NOT_SERVING"),
        Err(status) => eprintln!("the connection ended before NOT_SERVING was read: {status:?}"),
    }
    let status = server.exits_within(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "the open Watch held the drain for {:?}",
        sent.elapsed()
    );
}
