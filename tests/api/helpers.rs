//! Spawns the real server in-process on port 0 with a fresh database, and drives it with the
//! generated tonic client.
//!
//! The database is a new SQLite file per test, or, when TEST_DATABASE_URL names a PostgreSQL
//! server, a new database on it per test (named `phoneauth_test_<uuid>`).
mod reflection;
mod server_process;
mod shared_stores;

use std::collections::HashMap;

use phone_auth::{
    Config,
    domain::Clock,
    proto::{self, auth_service_client::AuthServiceClient},
};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

pub use reflection::reflected_files;
pub use server_process::ServerProcess;
pub use shared_stores::{SharedStore, requires_shared_stores};

pub const ADMIN_PHONE: &str = "+79990001000";

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: AuthServiceClient<Channel>,
    /// Where this instance keeps its state; another instance on the same backing shares it.
    pub backing: Backing,
    /// Where /metrics is served, when the test set METRICS_ADDR.
    pub metrics_addr: Option<std::net::SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The state a test's instances share: a fresh database, (when TEST_REDIS_URL is set) a Redis
/// key prefix of its own, and one clock, so that instances on it agree on the time.
#[derive(Clone)]
pub struct Backing {
    pub database_url: String,
    pub redis: Option<(String, String)>,
    pub clock: Clock,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

impl Backing {
    pub async fn fresh() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(&dir).await;
        let redis = SharedStore::Redis
            .url()
            .map(|url| (url, format!("test:{}:", uuid::Uuid::new_v4().simple())));
        // Redis keeps its TTLs and limit windows by its own server clock, which no test moves:
        // there the servers read the real time too, and tests wait it out.
        let clock = match redis {
            None => Clock::manual(),
            Some(_) => Clock::System,
        };
        Self {
            database_url,
            redis,
            clock,
            _dir: std::sync::Arc::new(dir),
        }
    }

    /// Whether the servers' time is the test's to move: true on the in-process stores, false
    /// on Redis (see the clock's comment in [`Backing::fresh`]).
    pub fn time_is_simulated(&self) -> bool {
        !self.clock.is_system()
    }

    /// Moves the servers' time forward by `by`: at once on a manual clock; on Redis by
    /// sleeping, the only way to move a Redis server's clock.
    pub async fn advance(&self, by: std::time::Duration) {
        match self.time_is_simulated() {
            true => self.clock.advance(by),
            false => tokio::time::sleep(by).await,
        }
    }

    /// The settings that point an instance at this backing.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![("DATABASE_URL".to_string(), self.database_url.clone())];
        if let Some((url, prefix)) = &self.redis {
            vars.push(("REDIS_URL".into(), url.clone()));
            vars.push(("REDIS_KEY_PREFIX".into(), prefix.clone()));
        }
        vars
    }
}

/// A logged-in user as the tests see them.
pub struct LoggedIn {
    pub phone: String,
    pub token: String,
    pub profile: proto::Profile,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Spawns with extra environment-style settings layered over the test defaults.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        Self::spawn_on(Backing::fresh().await, vars).await
    }

    /// Spawns an instance on an existing backing: beside another instance, or after a restart.
    pub async fn spawn_on(backing: Backing, vars: &[(&str, &str)]) -> Self {
        Self::spawn_inner(backing, vars, true).await
    }

    /// Spawns a TLS server; the returned `client` field is not connected (use your own).
    pub async fn spawn_tls(vars: &[(&str, &str)]) -> Self {
        Self::spawn_inner(Backing::fresh().await, vars, false).await
    }

    async fn spawn_inner(backing: Backing, vars: &[(&str, &str)], plaintext: bool) -> Self {
        let config = test_config(&backing, vars);
        let app = phone_auth::build(config).await.expect("server builds");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let scheme = if plaintext { "http" } else { "https" };
        let channel = Channel::from_shared(format!("{scheme}://{addr}")).unwrap();
        let channel = if plaintext {
            channel.connect().await.expect("client connects")
        } else {
            channel.connect_lazy()
        };
        let client = AuthServiceClient::new(channel);
        Self {
            addr,
            client,
            backing,
            metrics_addr,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Moves this server's time forward (see [`Backing::advance`]).
    pub async fn advance(&self, by: std::time::Duration) {
        self.backing.advance(by).await;
    }

    /// Signals the server to shut down and returns at once, so that a test can watch the drain;
    /// `stop` then waits for its end.
    pub fn begin_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Stops the server gracefully and waits until it has drained.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server exits cleanly");
        }
    }

    /// Requests a code and returns it (the console sender shows it as debug_code).
    pub async fn request_code(&self, phone: &str) -> String {
        let response = self
            .client
            .clone()
            .request_code(proto::RequestCodeRequest {
                phone_number: phone.into(),
            })
            .await
            .expect("RequestCode succeeds")
            .into_inner();
        assert!(
            !response.debug_code.is_empty(),
            "console sender returns the code"
        );
        response.debug_code
    }

    pub async fn verify(
        &self,
        phone: &str,
        code: &str,
    ) -> Result<proto::VerifyCodeResponse, Status> {
        self.client
            .clone()
            .verify_code(proto::VerifyCodeRequest {
                phone_number: phone.into(),
                verification_code: code.into(),
            })
            .await
            .map(|r| r.into_inner())
    }

    /// Logs `phone` in through RequestCode and VerifyCode.
    pub async fn login(&self, phone: &str) -> LoggedIn {
        let code = self.request_code(phone).await;
        let response = self
            .verify(phone, &code)
            .await
            .expect("VerifyCode succeeds");
        LoggedIn {
            phone: response.profile.as_ref().unwrap().phone_number.clone(),
            token: response.session_token,
            profile: response.profile.unwrap(),
        }
    }

    pub async fn profile(&self, token: &str) -> Result<proto::Profile, Status> {
        self.client
            .clone()
            .get_profile(authed(token, proto::GetProfileRequest::default()))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn set_inviter(&self, token: &str, code: &str) -> Result<proto::Profile, Status> {
        self.client
            .clone()
            .set_inviter(authed(
                token,
                proto::SetInviterRequest {
                    invited_by: code.into(),
                },
            ))
            .await
            .map(|r| r.into_inner())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Wraps `message` with `authorization: Bearer <token>`.
pub fn authed<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A distinct, valid Russian mobile number for each `n`.
pub fn phone(n: u32) -> String {
    format!("+7912{n:07}")
}

/// Asserts the status code and that the message contains `needle`.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    needle: &str,
) -> Status {
    let status = result.expect_err("the call must fail");
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    assert!(
        status.message().contains(needle),
        "message {:?} lacks {needle:?}",
        status.message()
    );
    status
}

/// The delay of the status's google.rpc.RetryInfo detail.
pub fn retry_delay(status: &Status) -> std::time::Duration {
    use tonic_types::StatusExt;
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo with a delay")
}

/// The field named by the status's google.rpc.BadRequest detail.
pub fn bad_request_field(status: &Status) -> Option<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()?
        .field_violations
        .first()
        .map(|v| v.field.clone())
}

/// The settings every test server starts with, in process or as the real binary. Throttles are
/// raised so that functional tests are not throttled; the tests in limits.rs and attacks.rs set
/// the ones they exercise.
pub const TEST_DEFAULTS: &[(&str, &str)] = &[
    (
        "SECRET_KEY",
        "test-secret-key-that-is-at-least-32-bytes-long",
    ),
    // Port 0, so that no two tests race for a port.
    ("LISTEN_ADDR", "127.0.0.1:0"),
    ("ADMIN_PHONES", ADMIN_PHONE),
    ("DB_MAX_CONNECTIONS", "4"),
    ("RESEND_INTERVAL_SECONDS", "0"),
    ("CODES_PER_PHONE", "1000000"),
    ("WRONG_CODES_PER_PHONE", "1000000"),
    ("REQUEST_CODE_PER_IP_BURST", "1000000"),
    ("VERIFY_CODE_PER_IP_BURST", "1000000"),
    ("SMS_BUDGET_PER_WINDOW", "1000000"),
    ("SMS_BUDGET_PER_COUNTRY_PER_WINDOW", "1000000"),
    ("SET_INVITER_PER_USER", "1000000"),
    ("SET_INVITER_PER_IP_BURST", "1000000"),
];

/// The test defaults, then the backing, then the test's own settings.
pub fn test_config(backing: &Backing, vars: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = TEST_DEFAULTS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.extend(backing.vars());
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut config =
        Config::from_lookup(|name| env.get(name).cloned()).expect("test config is valid");
    config.clock = backing.clock.clone();
    config
}

async fn fresh_database(dir: &tempfile::TempDir) -> String {
    match SharedStore::Postgres.url() {
        Some(admin_url) => {
            let name = format!("phoneauth_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL is reachable");
            admin
                .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                .await
                .expect("create test database");
            let base = admin_url.split('?').next().unwrap();
            let (server, _) = base
                .rsplit_once('/')
                .expect("TEST_DATABASE_URL has a database path");
            format!("{server}/{name}")
        }
        None => format!("sqlite://{}/test.db?mode=rwc", dir.path().display()),
    }
}

/// True when `code` is 6 characters from the invite-code alphabet (no 0/O, 1/I/L).
pub fn invite_alphabet_ok(code: &str) -> bool {
    code.len() == 6
        && code
            .bytes()
            .all(|b| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(&b))
}

/// Runs every future at once, each on its own task (so they truly race on a multi-threaded
/// runtime), and returns their outputs in order.
pub async fn all_at_once<T, F>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.expect("a racing call panicked"));
    }
    outputs
}
