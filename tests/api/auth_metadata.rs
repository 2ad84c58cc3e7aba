use phone_auth::proto::GetProfileRequest;
use tonic::{Code, Request, metadata::MetadataValue};

use crate::helpers::{Backing, SharedStore, TestApp, assert_status, requires_shared_stores};

async fn profile_with_header(app: &TestApp, value: Option<&str>) -> Result<(), tonic::Status> {
    let mut request = Request::new(GetProfileRequest::default());
    if let Some(value) = value {
        let value: MetadataValue<_> = value.parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    app.client.clone().get_profile(request).await.map(drop)
}

#[tokio::test]
async fn calls_without_a_token_are_unauthenticated_and_say_how_to_authenticate() {
    let app = TestApp::spawn().await;
    assert_status(
        profile_with_header(&app, None).await,
        Code::Unauthenticated,
        "authorization: Bearer",
    );
}

#[tokio::test]
async fn malformed_authorization_metadata_is_unauthenticated() {
    let app = TestApp::spawn().await;
    for value in [
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "token-without-scheme",
    ] {
        assert_status(
            profile_with_header(&app, Some(value)).await,
            Code::Unauthenticated,
            "Bearer <session_token>",
        );
    }
}

#[tokio::test]
async fn a_well_formed_but_unknown_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let forged = format!("Bearer {}", "A".repeat(43));
    assert_status(
        profile_with_header(&app, Some(&forged)).await,
        Code::Unauthenticated,
        "log in again",
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let user = app.login("+79123456789").await;
    profile_with_header(&app, Some(&format!("bearer {}", user.token)))
        .await
        .expect("lower-case scheme works");
}

#[tokio::test]
async fn a_session_expires_after_its_ttl() {
    let app = TestApp::spawn_with(&[("SESSION_TTL_SECONDS", "1")]).await;
    let user = app.login("+79123456789").await;
    app.profile(&user.token).await.expect("fresh session works");
    app.advance(std::time::Duration::from_millis(1001)).await;
    assert_status(
        app.profile(&user.token).await,
        Code::Unauthenticated,
        "expired",
    );
}

/// Two servers on one backing (one database, one Redis prefix): only the SECRET_KEY differs.
/// Without Redis each process keeps its own sessions, so no token could cross and the test
/// would prove nothing; it needs the shared session store.
#[tokio::test]
async fn sessions_are_not_shared_between_servers_with_different_keys() {
    if !requires_shared_stores(&[SharedStore::Redis]).await {
        return;
    }
    let backing = Backing::fresh().await;
    let first = TestApp::spawn_on(backing.clone(), &[]).await;
    let same_key = TestApp::spawn_on(backing.clone(), &[]).await;
    let other_key = TestApp::spawn_on(
        backing,
        &[("SECRET_KEY", "another-secret-key-that-is-at-least-32-bytes")],
    )
    .await;
    let user = first.login("+79123456789").await;

    // The control: on this backing a token does cross to a server with the same key.
    let profile = same_key
        .profile(&user.token)
        .await
        .expect("a server with the same key on the same backing accepts the token");
    assert_eq!(profile.user_id, user.profile.user_id);

    assert_status(
        other_key.profile(&user.token).await,
        Code::Unauthenticated,
        "unknown",
    );
}

/// Two `authorization` entries (say, one added by a proxy and one by the client) are refused
/// rather than resolved by taking the first.
#[tokio::test]
async fn two_authorization_entries_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("+79123456789").await;
    let mut request = Request::new(GetProfileRequest::default());
    for value in [format!("Bearer {}", user.token), "Bearer other".to_string()] {
        let value: MetadataValue<_> = value.parse().unwrap();
        request.metadata_mut().append("authorization", value);
    }
    assert_status(
        app.client.clone().get_profile(request).await,
        Code::Unauthenticated,
        "more than one authorization",
    );
}
