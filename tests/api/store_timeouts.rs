//! Every store call ends within its own timeout, whatever the network does: a dependency that
//! goes silent (the proxy's blackhole: connections stay open, nothing comes back) must cost a
//! call its store's timeout plus a small margin, not the client's deadline.
//!
//! The margins are correctness bounds, not performance figures: what they catch is a call that
//! waits for a reconnect, a retry or the request deadline on top of its store's timeout.
use std::time::{Duration, Instant};

use phone_auth::proto::RequestCodeRequest;
use sqlx::{Connection, PgConnection};
use tonic::Code;

use crate::{
    helpers::{
        Backing, SharedStore::Postgres, SharedStore::Redis, TestApp, assert_status, phone,
        requires_shared_stores,
    },
    proxy::Proxy,
};

/// Slack for scheduling and the answer's way back, over a store's own timeout.
const MARGIN: Duration = Duration::from_millis(1500);

/// The referral-graph lock of `store/sql/writer.rs`, held here to keep a SetInviter waiting
/// inside PostgreSQL.
const REFERRAL_GRAPH_LOCK: i64 = 0x7068_6f6e_6561_7574;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_blackholed_each_call_fails_unavailable_within_the_redis_timeout() {
    if !requires_shared_stores(&[Redis]).await {
        return;
    }
    let mut backing = Backing::fresh().await;
    let proxy = Proxy::before_redis(&mut backing).await;
    let app = TestApp::spawn_on(backing, &[("REDIS_TIMEOUT_SECONDS", "1")]).await;
    let user = app.login(&phone(1)).await;
    let bound = Duration::from_secs(1) + MARGIN;

    // First the open connection goes silent; then it is reset as well, and every reconnect
    // meets a Redis that accepts and never answers.
    for round in 0..3 {
        match round {
            0 => proxy.blackhole(),
            _ => proxy.reset_then_blackhole(),
        }
        let started = Instant::now();
        let result = app
            .client
            .clone()
            .request_code(RequestCodeRequest {
                phone_number: phone(2),
            })
            .await;
        assert_status(result, Code::Unavailable, "Redis");
        let took = started.elapsed();
        assert!(took < bound, "RequestCode {round} took {took:?}");

        let started = Instant::now();
        assert_status(app.verify(&phone(2), "0000").await, Code::Unavailable, "");
        let took = started.elapsed();
        assert!(took < bound, "VerifyCode {round} took {took:?}");

        let started = Instant::now();
        assert_status(app.profile(&user.token).await, Code::Unavailable, "");
        let took = started.elapsed();
        assert!(took < bound, "GetProfile {round} took {took:?}");
    }
    proxy.restore();
}

/// A SetInviter that waits on the referral-graph lock inside PostgreSQL when the route to the
/// database goes silent: the server's answer never comes, so only the client-side bound ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_running_when_postgres_goes_silent_fails_unavailable_within_its_bound() {
    if !requires_shared_stores(&[Postgres]).await {
        return;
    }
    let mut backing = Backing::fresh().await;
    let real_url = backing.database_url.clone();
    let proxy = Proxy::before_database(&mut backing).await;
    // Long enough that the statement timeout alone would end the wait, if its answer came.
    let app = TestApp::spawn_on(backing, &[("DB_ACQUIRE_TIMEOUT_SECONDS", "1")]).await;
    let inviter = app.login(&phone(1)).await;
    let user = app.login(&phone(2)).await;
    let mut holder = PgConnection::connect(&real_url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(REFERRAL_GRAPH_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();

    let started = Instant::now();
    let call = tokio::spawn({
        let (app_client, token, code) = (
            app.client.clone(),
            user.token.clone(),
            inviter.profile.invite_code.clone(),
        );
        async move {
            let mut client = app_client;
            client
                .set_inviter(crate::helpers::authed(
                    &token,
                    phone_auth::proto::SetInviterRequest { invited_by: code },
                ))
                .await
                .map(drop)
        }
    });
    wait_until_the_lock_is_awaited(&mut holder).await;
    proxy.blackhole();
    let result = call.await.unwrap();
    let took = started.elapsed();
    assert_status(result, Code::Unavailable, "database");
    // The pool's acquire timeout plus as long again for the statements.
    let bound = Duration::from_secs(2) + MARGIN;
    assert!(took < bound, "SetInviter took {took:?}");
    proxy.restore();
}

/// Without any outage, a statement stuck on a lock is cancelled by PostgreSQL's
/// statement_timeout and answered UNAVAILABLE, not left to the client's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_on_a_lock_is_cancelled_by_the_statement_timeout() {
    if !requires_shared_stores(&[Postgres]).await {
        return;
    }
    let backing = Backing::fresh().await;
    let real_url = backing.database_url.clone();
    let app = TestApp::spawn_on(backing, &[("DB_ACQUIRE_TIMEOUT_SECONDS", "1")]).await;
    let inviter = app.login(&phone(1)).await;
    let user = app.login(&phone(2)).await;
    let mut holder = PgConnection::connect(&real_url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(REFERRAL_GRAPH_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();

    let started = Instant::now();
    let result = app
        .set_inviter(&user.token, &inviter.profile.invite_code)
        .await;
    let took = started.elapsed();

    assert_status(result, Code::Unavailable, "database");
    assert!(took < Duration::from_secs(1) + MARGIN, "took {took:?}");
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(REFERRAL_GRAPH_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();
    app.set_inviter(&user.token, &inviter.profile.invite_code)
        .await
        .expect("the link is made once the lock is free");
}

/// Returns once another session waits for the referral-graph lock that `holder` holds (in this
/// test's database: other tests share the server).
async fn wait_until_the_lock_is_awaited(holder: &mut PgConnection) {
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&mut *holder)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        // Polling a server-side state that no event announces.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("SetInviter never waited for the referral-graph lock");
}
