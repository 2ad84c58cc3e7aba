//! Several instances as one service, restarts, and outages. These need the shared stores:
//! each runs when TEST_REDIS_URL or TEST_DATABASE_URL (PostgreSQL) names what it needs, as
//! .ci/run's second run does, and otherwise says that it skipped — or fails, in a run that must
//! not skip them (see `requires_shared_stores`).
use std::time::Duration;

use phone_auth::proto::{LogoutRequest, RequestCodeRequest};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{
    helpers::{
        Backing,
        SharedStore::{Postgres, Redis},
        TestApp, assert_status, authed, phone, requires_shared_stores,
    },
    proxy::Proxy,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behave_as_one_service() {
    if !requires_shared_stores(&[Redis]).await {
        return;
    }
    let backing = Backing::fresh().await;
    let vars = [
        ("RESEND_INTERVAL_SECONDS", "60"),
        ("WRONG_CODES_PER_PHONE", "3"),
    ];
    let a = TestApp::spawn_on(backing.clone(), &vars).await;
    let b = TestApp::spawn_on(backing.clone(), &vars).await;
    let c = TestApp::spawn_on(backing.clone(), &vars).await;

    let inviter = a.login(&phone(1)).await;
    let code = a.request_code(&phone(2)).await;
    let user = b
        .verify(&phone(2), &code)
        .await
        .expect("a code sent by A verifies on B");
    let token = user.session_token;
    let profile = c
        .profile(&token)
        .await
        .expect("a session made on B works on C");
    assert_eq!(profile.phone_number, phone(2));
    a.set_inviter(&token, &inviter.profile.invite_code)
        .await
        .unwrap();
    assert_eq!(c.profile(&inviter.token).await.unwrap().referral_count, 1);

    b.client
        .clone()
        .logout(authed(&token, LogoutRequest {}))
        .await
        .unwrap();
    // Revocation is read from the shared store on every call: C rejects at once.
    assert_status(c.profile(&token).await, Code::Unauthenticated, "revoked");
    assert_status(a.profile(&token).await, Code::Unauthenticated, "revoked");

    // Limits are global: the cooldown started on A holds on B and C.
    a.request_code(&phone(3)).await;
    for other in [&b, &c] {
        let result = other
            .client
            .clone()
            .request_code(RequestCodeRequest {
                phone_number: phone(3),
            })
            .await;
        assert_status(result, Code::ResourceExhausted, "just sent");
    }
    // Three wrong codes spread over three instances spend one budget of 3.
    let code = a.request_code(&phone(4)).await;
    let wrong = if code == "0000" { "1111" } else { "0000" };
    for instance in [&a, &b, &c] {
        assert_status(
            instance.verify(&phone(4), wrong).await,
            Code::InvalidArgument,
            "wrong",
        );
    }
    assert_status(
        b.verify(&phone(4), &code).await,
        Code::ResourceExhausted,
        "too many wrong codes",
    );
}

#[tokio::test]
async fn sessions_survive_a_restart_when_redis_is_configured() {
    if !requires_shared_stores(&[Redis]).await {
        return;
    }
    let backing = Backing::fresh().await;
    let first = TestApp::spawn_on(backing.clone(), &[]).await;
    let user = first.login(&phone(1)).await;
    first.stop().await;
    let second = TestApp::spawn_on(backing, &[]).await;
    let profile = second
        .profile(&user.token)
        .await
        .expect("the token outlives the instance");
    assert_eq!(profile.user_id, user.profile.user_id);
}

async fn health(app: &TestApp) -> ServingStatus {
    let mut client = HealthClient::new(app.channel().await);
    let request = HealthCheckRequest {
        service: "phoneauth.v1.AuthService".into(),
    };
    client.check(request).await.unwrap().into_inner().status()
}

/// Polls health until it reports `wanted` (bounded: the probe runs every 0.2 s here).
async fn wait_for_health(app: &TestApp, wanted: ServingStatus) {
    for _ in 0..100 {
        if health(app).await == wanted {
            return;
        }
        // A real pause: the health probe is a background task on tokio's timer, polling a real
        // store over the network; no service clock governs when it notices an outage.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("health never became {wanted:?}");
}

const OUTAGE_VARS: [(&str, &str); 3] = [
    ("HEALTH_PROBE_INTERVAL_SECONDS", "0.2"),
    ("REDIS_TIMEOUT_SECONDS", "0.5"),
    ("DB_ACQUIRE_TIMEOUT_SECONDS", "1"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_unavailable_and_the_service_recovers_by_itself() {
    if !requires_shared_stores(&[Redis]).await {
        return;
    }
    let mut backing = Backing::fresh().await;
    let proxy = Proxy::before_redis(&mut backing).await;
    let app = TestApp::spawn_on(backing, &OUTAGE_VARS).await;
    let user = app.login(&phone(1)).await;

    proxy.cut();
    let started = std::time::Instant::now();
    let result = app
        .client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: phone(2),
        })
        .await;
    assert_status(result, Code::Unavailable, "Redis");
    assert_status(
        app.profile(&user.token).await,
        Code::Unavailable,
        "unavailable",
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed within the request timeout"
    );
    wait_for_health(&app, ServingStatus::NotServing).await;

    proxy.restore();
    wait_for_health(&app, ServingStatus::Serving).await;
    app.profile(&user.token)
        .await
        .expect("the session outlived the outage");
    app.login(&phone(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_unavailable_and_loses_nothing() {
    if !requires_shared_stores(&[Postgres]).await {
        return;
    }
    let mut backing = Backing::fresh().await;
    let proxy = Proxy::before_database(&mut backing).await;
    let app = TestApp::spawn_on(backing.clone(), &OUTAGE_VARS).await;
    let inviter = app.login(&phone(1)).await;
    let user = app.login(&phone(2)).await;
    app.set_inviter(&user.token, &inviter.profile.invite_code)
        .await
        .unwrap();

    proxy.cut();
    assert_status(
        app.profile(&user.token).await,
        Code::Unavailable,
        "database",
    );
    let code = app.request_code(&phone(3)).await;
    assert_status(
        app.verify(&phone(3), &code).await,
        Code::Unavailable,
        "database",
    );
    wait_for_health(&app, ServingStatus::NotServing).await;

    proxy.restore();
    wait_for_health(&app, ServingStatus::Serving).await;
    let profile = app
        .profile(&inviter.token)
        .await
        .expect("recovered without a restart");
    assert_eq!(profile.referral_count, 1, "no referral link lost");
    assert_eq!(
        app.profile(&user.token).await.unwrap().invited_by,
        inviter.profile.invite_code
    );
    app.login(&phone(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_waits_for_a_database_that_is_down() {
    if !requires_shared_stores(&[Postgres]).await {
        return;
    }
    let mut backing = Backing::fresh().await;
    let proxy = Proxy::before_database(&mut backing).await;
    proxy.cut();
    let starting = tokio::spawn(TestApp::spawn_on(
        backing,
        &[("STARTUP_TIMEOUT_SECONDS", "30")],
    ));
    // A real pause: what is shown is that start-up keeps retrying a real connection (with
    // tokio's timer between tries) while the database is down, which only wall time can show.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !starting.is_finished(),
        "start-up must wait while the database is down"
    );
    proxy.restore();
    let app = starting.await.unwrap();
    app.login(&phone(1)).await;
}

#[tokio::test]
async fn redis_holds_only_digests_never_raw_codes_or_tokens() {
    if !requires_shared_stores(&[Redis]).await {
        return;
    }
    let backing = Backing::fresh().await;
    let (url, prefix) = backing.redis.clone().expect("TEST_REDIS_URL is set");
    let app = TestApp::spawn_on(backing, &[("CODE_LENGTH", "8")]).await;
    let user = app.login(&phone(1)).await;
    let pending = app.request_code(&phone(2)).await;

    let mut redis = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        keys.iter().any(|k| k.contains(":session:")) && keys.iter().any(|k| k.contains(":code:")),
        "{keys:?}"
    );
    let mut everything = keys.join("\n").into_bytes();
    for key in &keys {
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut redis)
            .await
            .unwrap();
        everything.extend(dump);
    }
    let contains = |needle: &str| {
        everything
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    assert!(
        !contains(&user.token),
        "a raw session token is stored in Redis"
    );
    assert!(!contains(&pending), "a raw code is stored in Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_on_a_fresh_database_migrate_once() {
    if !requires_shared_stores(&[Postgres]).await {
        return;
    }
    let backing = Backing::fresh().await;
    // sqlx holds an advisory lock while migrating, so concurrent starts wait for each other.
    let starts = (0..3).map(|_| tokio::spawn(TestApp::spawn_on(backing.clone(), &[])));
    let apps: Vec<TestApp> = futures::future::join_all(starts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (n, app) in apps.iter().enumerate() {
        app.login(&phone(n as u32)).await;
    }
}

/// Introspect and ext_authz read the shared session store on every call: a logout on one
/// instance is refused by the next call on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_shows_at_once_in_introspect_and_check_on_another() {
    use crate::service_clients::{check_as_envoy, introspect_as_orders, spawn_on_for_services};
    if !requires_shared_stores(&[Redis]).await {
        return;
    }
    let backing = Backing::fresh().await;
    let a = spawn_on_for_services(backing.clone(), &[]).await;
    let b = spawn_on_for_services(backing, &[]).await;
    let user = a.login(&phone(1)).await;
    let bearer = format!("Bearer {}", user.token);
    assert!(introspect_as_orders(&b, &user.token).await.active);
    let allowed = check_as_envoy(&b, &[("authorization", &bearer)]).await;
    assert_eq!(allowed.status.map(|s| s.code), Some(0));

    a.client
        .clone()
        .logout(authed(&user.token, LogoutRequest {}))
        .await
        .unwrap();
    assert!(!introspect_as_orders(&b, &user.token).await.active);
    let denied = check_as_envoy(&b, &[("authorization", &bearer)]).await;
    assert_eq!(
        denied.status.map(|s| s.code),
        Some(Code::Unauthenticated as i32)
    );
}
