//! The real binary as a child process, for what an in-process server cannot show: a SIGKILL.
//! Nothing in a killed process runs after the signal (no drop, no flush, no drain), so only a
//! separate process can be killed the way a crash, an OOM kill or `docker kill` kills it.
use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use phone_auth::proto::auth_service_client::AuthServiceClient;
use tokio::sync::oneshot;
use tonic::transport::Channel;

use super::{Backing, TEST_DEFAULTS};

/// How long the binary has to open its database, migrate and start serving.
const START_WITHIN: Duration = Duration::from_secs(30);

/// What the binary gets beyond [`TEST_DEFAULTS`] (it reads no `Config` the test could edit).
const PROCESS_SETTINGS: &[(&str, &str)] = &[
    ("SMS_PROVIDER", "console"),
    // The address is read from the log.
    ("LOG_FORMAT", "json"),
    // The start-up lines and warnings only: a load must not spend its CPU on log lines.
    ("RUST_LOG", "warn,phone_auth::startup=info"),
];

/// A running `phone-auth` binary on a test's backing, with a client connected to it.
pub struct ServerProcess {
    child: Child,
    pub client: AuthServiceClient<Channel>,
}

impl ServerProcess {
    /// Starts the binary on `backing` (its database, and its Redis prefix when it has one) with
    /// `vars` over the test settings, and returns once it serves.
    pub async fn start(backing: &Backing, vars: &[(&str, &str)]) -> Self {
        // The process's working directory, so that no `.env` of the checkout is read.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_phone-auth"))
            .current_dir(dir.path())
            .env_clear()
            .envs(TEST_DEFAULTS.iter().copied())
            .envs(PROCESS_SETTINGS.iter().copied())
            .envs(backing.vars())
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let (serving, serving_at) = oneshot::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        // Reads the log until the serving line, then drains it so that the child never blocks
        // on a full pipe; ends when the child's stdout closes (at exit or kill).
        std::thread::spawn(move || {
            let mut serving = Some(serving);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = serving_addr(&line)
                    && let Some(serving) = serving.take()
                {
                    let _ = serving.send(addr);
                }
            }
        });
        let addr = match tokio::time::timeout(START_WITHIN, serving_at).await {
            Ok(Ok(addr)) => addr,
            Ok(Err(_)) => panic!("the binary exited before serving: {:?}", child.wait()),
            Err(_) => {
                let _ = child.kill();
                panic!("the binary did not serve within {START_WITHIN:?}")
            }
        };
        let client = AuthServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("the client connects");
        Self { child, client }
    }

    /// Kills the process with SIGKILL, as a crash would, and waits until it is gone.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        // `Child::kill` sends SIGKILL on Unix; it fails only for a child that is already gone,
        // and `wait` then returns the status it reaped before.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    /// A test that fails half-way leaves no server running.
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// The address in the "phone-auth serving gRPC" log line, if `line` is that line.
fn serving_addr(line: &str) -> Option<SocketAddr> {
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = &json["fields"];
    if fields["message"] != "phone-auth serving gRPC" {
        return None;
    }
    fields["addr"].as_str()?.parse().ok()
}
