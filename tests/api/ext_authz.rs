//! Envoy's ext_authz Check through the real server: a live session lets the request through
//! with the caller's identity set upstream over anything the client sent; everything else is
//! denied with 401 and `WWW-Authenticate: Bearer`; only a known service may ask.
use std::time::Duration;

use envoy_types::ext_authz::v3::pb::{CheckResponse, HeaderAppendAction, HttpResponse};
use phone_auth::proto::{LogoutAllRequest, LogoutRequest};
use tonic::Code;

use crate::{
    helpers::{TestApp, assert_status, authed, phone},
    service_clients::{ENVOY_TOKEN, ORDERS_TOKEN, check, check_as_envoy, spawn_for_services},
};

/// The upstream headers an allowed answer sets, each with its append action.
fn upstream_headers(response: &CheckResponse) -> Vec<(String, String, i32)> {
    assert_eq!(
        response.status.as_ref().map(|s| s.code),
        Some(0),
        "{response:?}"
    );
    let Some(HttpResponse::OkResponse(ok)) = &response.http_response else {
        panic!("expected an OK response: {response:?}");
    };
    assert!(
        ok.headers_to_remove.is_empty(),
        "removals run after sets in Envoy"
    );
    ok.headers
        .iter()
        .map(|option| {
            let header = option.header.as_ref().unwrap();
            (
                header.key.clone(),
                header.value.clone(),
                option.append_action,
            )
        })
        .collect()
}

/// Asserts that `response` denies with 401 and a Bearer challenge.
#[track_caller]
fn assert_denied_401(response: &CheckResponse, why: &str) {
    assert_eq!(
        response.status.as_ref().map(|s| s.code),
        Some(Code::Unauthenticated as i32),
        "{why}"
    );
    let Some(HttpResponse::DeniedResponse(denied)) = &response.http_response else {
        panic!("{why}: expected a denied response: {response:?}");
    };
    assert_eq!(denied.status.as_ref().map(|s| s.code), Some(401), "{why}");
    let challenge: Vec<_> = denied
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .map(|h| (h.key.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(challenge, [("www-authenticate", "Bearer")], "{why}");
}

#[tokio::test]
async fn a_live_session_passes_with_its_identity_overwriting_forged_headers() {
    let app = spawn_for_services(&[]).await;
    let user = app.login(&phone(1)).await;
    let bearer = format!("Bearer {}", user.token);
    let response = check_as_envoy(
        &app,
        &[
            ("authorization", &bearer),
            ("x-user-id", "1"),
            ("x-user-phone", "+79990001000"),
        ],
    )
    .await;
    let overwrite = HeaderAppendAction::OverwriteIfExistsOrAdd as i32;
    assert_eq!(
        upstream_headers(&response),
        [
            (
                "x-user-id".into(),
                user.profile.user_id.to_string(),
                overwrite
            ),
            ("x-user-phone".into(), phone(1), overwrite),
        ]
    );
    // The scheme is matched in any case, as on the gRPC API.
    let lower = format!("bearer {}", user.token);
    upstream_headers(&check_as_envoy(&app, &[("authorization", &lower)]).await);
}

#[tokio::test]
async fn missing_malformed_and_unknown_tokens_are_denied_with_401() {
    let app = spawn_for_services(&[]).await;
    let user = app.login(&phone(1)).await;
    let unknown = format!("Bearer {}", "A".repeat(43));
    let basic = format!("Basic {}", user.token);
    let repeated = format!("Bearer {0},Bearer {0}", user.token);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[], "no authorization header"),
        (&[("authorization", "")], "empty"),
        (&[("authorization", &user.token)], "no scheme"),
        (&[("authorization", &basic)], "another scheme"),
        (&[("authorization", &unknown)], "unknown token"),
        (
            &[("authorization", &repeated)],
            "two values joined by Envoy",
        ),
    ];
    for (headers, why) in cases {
        assert_denied_401(&check_as_envoy(&app, headers).await, why);
    }
}

#[tokio::test]
async fn expired_and_revoked_sessions_are_denied_at_once() {
    let app = spawn_for_services(&[("SESSION_TTL_SECONDS", "1")]).await;
    let expiring = app.login(&phone(1)).await;
    let bearer = format!("Bearer {}", expiring.token);
    upstream_headers(&check_as_envoy(&app, &[("authorization", &bearer)]).await);
    app.advance(Duration::from_millis(1001)).await;
    assert_denied_401(
        &check_as_envoy(&app, &[("authorization", &bearer)]).await,
        "expired",
    );

    let app = spawn_for_services(&[]).await;
    let one = app.login(&phone(1)).await;
    let other = app.login(&phone(1)).await;
    app.client
        .clone()
        .logout(authed(&one.token, LogoutRequest {}))
        .await
        .unwrap();
    let bearer = format!("Bearer {}", one.token);
    assert_denied_401(
        &check_as_envoy(&app, &[("authorization", &bearer)]).await,
        "logout",
    );
    app.client
        .clone()
        .logout_all(authed(&other.token, LogoutAllRequest {}))
        .await
        .unwrap();
    let bearer = format!("Bearer {}", other.token);
    assert_denied_401(
        &check_as_envoy(&app, &[("authorization", &bearer)]).await,
        "logout all",
    );
}

#[tokio::test]
async fn check_demands_a_service_credential() {
    let app = spawn_for_services(&[]).await;
    let user = app.login(&phone(1)).await;
    let bearer = format!("Bearer {}", user.token);
    let headers = [("authorization", bearer.as_str())];
    for credential in [
        None,
        Some("wrong-but-long-enough-0123456789abcdefghijklmno"),
        Some(user.token.as_str()),
    ] {
        assert_status(
            check(&app, credential, &headers).await,
            Code::Unauthenticated,
            "x-service-token",
        );
    }
    // Any configured service may ask, Envoy or another.
    upstream_headers(&check(&app, Some(ORDERS_TOKEN), &headers).await.unwrap());

    let app = TestApp::spawn().await;
    let user = app.login(&phone(1)).await;
    let bearer = format!("Bearer {}", user.token);
    assert_status(
        check(&app, Some(ENVOY_TOKEN), &[("authorization", &bearer)]).await,
        Code::Unauthenticated,
        "SERVICE_TOKENS",
    );
}
