//! The gate in front of the tests that need a store only a server provides: Redis, to share
//! sessions, codes and limits between instances, or PostgreSQL, to cut, restart or race a
//! database server.
//!
//! On a laptop `cargo test` names neither, and such a test says why it skips. A run that is
//! meant to exercise them must not pass by skipping, so it fails instead when a store is missing:
//! - PHONE_AUTH_REQUIRE_SHARED_STORES=1 says the stores must be there (the second run of
//!   .ci/run sets it; the first, run as on a laptop, does not);
//! - under CI=true, a run that names one of the stores must name all of them.
//!
//! A store that is named but does not answer fails the test in every run.
use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// How long a named store has to answer before the test fails.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// A store that a test can only have when a TEST_* variable names a running server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedStore {
    /// TEST_REDIS_URL: codes, sessions and limits shared between instances and restarts.
    Redis,
    /// TEST_DATABASE_URL (postgres://…): each test gets a database of its own on that server.
    Postgres,
}

impl SharedStore {
    const ALL: [SharedStore; 2] = [SharedStore::Redis, SharedStore::Postgres];

    /// The variable that names the store.
    pub fn variable(self) -> &'static str {
        match self {
            SharedStore::Redis => "TEST_REDIS_URL",
            SharedStore::Postgres => "TEST_DATABASE_URL",
        }
    }

    /// Why a test that needs the store cannot stand in for it with the embedded defaults.
    fn why_needed(self) -> &'static str {
        match self {
            SharedStore::Redis => "without it codes, sessions and limits are per process",
            SharedStore::Postgres => "SQLite is a file, not a server to cut, restart or race",
        }
    }

    /// The store's URL, when this run names one (TEST_DATABASE_URL counts only for PostgreSQL).
    pub fn url(self) -> Option<String> {
        let url = std::env::var(self.variable()).ok()?;
        let usable = match self {
            SharedStore::Redis => !url.is_empty(),
            SharedStore::Postgres => url.starts_with("postgres"),
        };
        usable.then_some(url)
    }

    /// Panics unless the named store answers: a run that names a store means to use it.
    async fn must_answer(self, url: &str) {
        let answered = tokio::time::timeout(ANSWER_WITHIN, async {
            match self {
                SharedStore::Redis => {
                    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
                    let mut connection = client
                        .get_multiplexed_async_connection()
                        .await
                        .map_err(|e| e.to_string())?;
                    redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
                SharedStore::Postgres => PgConnection::connect(url)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
            }
        })
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {ANSWER_WITHIN:?}")));
        if let Err(error) = answered {
            panic!(
                "{}={url} is set, but it does not answer: {error}",
                self.variable()
            );
        }
    }
}

/// True when every store in `needs` is named and answers, so the calling test can run; false,
/// after saying why, when the test may skip; a panic when this run must not skip it (see the
/// module's comment).
pub async fn requires_shared_stores(needs: &[SharedStore]) -> bool {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    let missing: Vec<SharedStore> = needs
        .iter()
        .copied()
        .filter(|store| store.url().is_none())
        .collect();
    if missing.is_empty() {
        for store in needs {
            store.must_answer(&store.url().unwrap()).await;
        }
        return true;
    }
    let needed = missing
        .iter()
        .map(|store| format!("{} ({})", store.variable(), store.why_needed()))
        .collect::<Vec<_>>()
        .join(" and ");
    if let Some(refusal) = skipping_is_refused() {
        panic!("{test} may not skip ({refusal}), but it needs what is not set: {needed}");
    }
    eprintln!("skipped {test}: it needs what is not set: {needed}");
    false
}

/// Why this run must not skip a test for want of a shared store, if it must not.
fn skipping_is_refused() -> Option<String> {
    let flag = |name: &str| {
        std::env::var(name).is_ok_and(|value| matches!(value.trim(), "1" | "true" | "TRUE" | "yes"))
    };
    if flag("PHONE_AUTH_REQUIRE_SHARED_STORES") {
        return Some(
            "PHONE_AUTH_REQUIRE_SHARED_STORES=1 says the shared stores must be there".into(),
        );
    }
    let named: Vec<&str> = SharedStore::ALL
        .iter()
        .filter(|store| store.url().is_some())
        .map(|store| store.variable())
        .collect();
    if flag("CI") && !named.is_empty() {
        return Some(format!(
            "under CI=true a run that names a shared store ({}) must name all of them",
            named.join(", ")
        ));
    }
    None
}
