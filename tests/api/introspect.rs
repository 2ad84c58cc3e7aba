//! SessionService/Introspect through the real server: whose a token is, the tokens that are
//! not active (expired, revoked, malformed, missing) answered alike, and the service
//! credential it demands.
use std::time::Duration;

use phone_auth::proto::{IntrospectResponse, LogoutAllRequest, LogoutRequest};
use tonic::Code;

use crate::{
    helpers::{
        ADMIN_PHONE, Backing, SharedStore::Postgres, TestApp, assert_status, authed, phone,
        requires_shared_stores,
    },
    observability::{sample, scrape},
    proxy::Proxy,
    service_clients::{
        ENVOY_TOKEN, ORDERS_TOKEN, introspect, introspect_as_orders, spawn_for_services,
        spawn_on_for_services,
    },
};

/// What every inactive token gets: nothing but `active: false`.
fn inactive() -> IntrospectResponse {
    IntrospectResponse::default()
}

#[tokio::test]
async fn introspect_says_whose_an_active_session_is() {
    let app = spawn_for_services(&[]).await;
    let code = app.request_code(&phone(1)).await;
    let login = app.verify(&phone(1), &code).await.unwrap();
    let profile = login.profile.unwrap();

    let answer = introspect_as_orders(&app, &login.session_token).await;
    assert_eq!(
        answer,
        IntrospectResponse {
            active: true,
            user_id: profile.user_id,
            phone_number: phone(1),
            invite_code: profile.invite_code,
            admin: false,
            expires_at: login.session_expires_at,
        }
    );
    let admin = app.login(ADMIN_PHONE).await;
    assert!(introspect_as_orders(&app, &admin.token).await.admin);
}

/// Introspect is one session read, like the bearer check of any call: the session carries the
/// invite code, so neither the database nor the profile cache is asked (here both are out of
/// reach: the cache is off and PostgreSQL is cut).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_answers_from_the_session_alone() {
    if !requires_shared_stores(&[Postgres]).await {
        return;
    }
    let mut backing = Backing::fresh().await;
    let proxy = Proxy::before_database(&mut backing).await;
    let app = spawn_on_for_services(
        backing,
        &[("USER_CACHE_MB", "0"), ("DB_ACQUIRE_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let user = app.login(&phone(1)).await;
    proxy.cut();
    assert_status(app.profile(&user.token).await, Code::Unavailable, "");
    let answer = introspect_as_orders(&app, &user.token).await;
    assert!(answer.active);
    assert_eq!(answer.invite_code, user.profile.invite_code);
    proxy.restore();
}

#[tokio::test]
async fn an_expired_session_is_inactive() {
    let app = spawn_for_services(&[("SESSION_TTL_SECONDS", "1")]).await;
    let user = app.login(&phone(1)).await;
    assert!(introspect_as_orders(&app, &user.token).await.active);
    app.advance(Duration::from_millis(1001)).await;
    assert_eq!(introspect_as_orders(&app, &user.token).await, inactive());
}

#[tokio::test]
async fn a_logout_shows_in_the_next_introspect() {
    let app = spawn_for_services(&[]).await;
    let user = app.login(&phone(1)).await;
    let other_device = app.login(&phone(1)).await;
    app.client
        .clone()
        .logout(authed(&user.token, LogoutRequest {}))
        .await
        .unwrap();
    assert_eq!(introspect_as_orders(&app, &user.token).await, inactive());
    assert!(introspect_as_orders(&app, &other_device.token).await.active);

    app.client
        .clone()
        .logout_all(authed(&other_device.token, LogoutAllRequest {}))
        .await
        .unwrap();
    assert_eq!(
        introspect_as_orders(&app, &other_device.token).await,
        inactive()
    );
}

#[tokio::test]
async fn unknown_malformed_and_missing_tokens_are_inactive_not_errors() {
    let app = spawn_for_services(&[]).await;
    for token in [
        "A".repeat(43).as_str(),
        "not a token",
        "Bearer AAAA",
        "",
        &"A".repeat(10_000),
    ] {
        assert_eq!(
            introspect_as_orders(&app, token).await,
            inactive(),
            "{token:.20}"
        );
    }
}

#[tokio::test]
async fn introspect_demands_a_service_credential_never_a_session() {
    let app = spawn_for_services(&[]).await;
    let user = app.login(&phone(1)).await;
    let user_bearer = format!("Bearer {}", user.token);
    for credential in [
        None,
        Some(""),
        Some("wrong-but-long-enough-0123456789abcdefghijklmno"),
        Some(&ORDERS_TOKEN[..42]),
        Some(user.token.as_str()),
        Some(user_bearer.as_str()),
    ] {
        assert_status(
            introspect(&app, credential, &user.token).await,
            Code::Unauthenticated,
            "x-service-token",
        );
    }
    // The service token in `authorization`, where users' sessions go, is no credential either.
    let mut request = tonic::Request::new(phone_auth::proto::IntrospectRequest {
        session_token: user.token.clone(),
    });
    let bearer = format!("Bearer {ORDERS_TOKEN}").parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    let result =
        phone_auth::proto::session_service_client::SessionServiceClient::new(app.channel().await)
            .introspect(request)
            .await;
    assert_status(result, Code::Unauthenticated, "x-service-token");
    // Either known service may ask.
    assert!(
        introspect(&app, Some(ENVOY_TOKEN), &user.token)
            .await
            .unwrap()
            .active
    );
}

#[tokio::test]
async fn without_service_tokens_every_introspect_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(1)).await;
    assert_status(
        introspect(&app, Some(ORDERS_TOKEN), &user.token).await,
        Code::Unauthenticated,
        "SERVICE_TOKENS",
    );
}

#[tokio::test]
async fn service_calls_are_counted_by_service_name_and_method() {
    let app = spawn_for_services(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let user = app.login(&phone(1)).await;
    let counted = |text: &str| {
        sample(
            text,
            "phoneauth_service_calls_total",
            &[r#"service="orders""#, r#"method="Introspect""#],
        )
    };
    let before = counted(&scrape(metrics).await);
    introspect_as_orders(&app, &user.token).await;
    introspect(&app, None, &user.token).await.unwrap_err();
    let after = scrape(metrics).await;
    // One process-wide recorder serves every test server; other tests may add their own calls.
    assert!(counted(&after) >= before + 1.0, "{after}");
    assert!(
        sample(
            &after,
            "phoneauth_service_calls_total",
            &[r#"service="rejected""#]
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            "phoneauth_rpc_requests_total",
            &[r#"method="Introspect""#, r#"code="OK""#]
        ) >= 1.0
    );
}

#[tokio::test]
async fn health_and_reflection_cover_the_services_for_services() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel().await);
    for service in [
        "phoneauth.v1.SessionService",
        "envoy.service.auth.v3.Authorization",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }

    let files = crate::helpers::reflected_files(
        &app,
        MessageRequest::FileContainingSymbol("phoneauth.v1.SessionService".into()),
    )
    .await;
    let file = files
        .into_iter()
        .find(|f| f.name() == "phoneauth/v1/session.proto")
        .expect("session.proto is served");
    let methods: Vec<_> = file.service[0].method.iter().map(|m| m.name()).collect();
    assert_eq!(methods, ["Introspect"]);
    let comments = file.source_code_info.expect("comments are kept").location;
    assert!(
        comments
            .iter()
            .any(|l| l.leading_comments().contains("active: false")),
        "the proto's comments reach reflection"
    );
}
