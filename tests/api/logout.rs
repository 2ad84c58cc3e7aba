use phone_auth::proto::LogoutRequest;
use tonic::Code;

use crate::helpers::{TestApp, assert_status, authed};

#[tokio::test]
async fn logout_revokes_the_token_at_once() {
    let app = TestApp::spawn().await;
    let user = app.login("+79123456789").await;
    app.client
        .clone()
        .logout(authed(&user.token, LogoutRequest {}))
        .await
        .unwrap();
    assert_status(
        app.profile(&user.token).await,
        Code::Unauthenticated,
        "revoked",
    );
    assert_status(
        app.set_inviter(&user.token, "ABCDEF").await,
        Code::Unauthenticated,
        "revoked",
    );
    assert_status(
        app.client
            .clone()
            .logout(authed(&user.token, LogoutRequest {}))
            .await,
        Code::Unauthenticated,
        "revoked",
    );
}

#[tokio::test]
async fn logout_ends_only_the_session_it_was_called_with() {
    let app = TestApp::spawn().await;
    let phone_session = app.login("+79123456789").await;
    let laptop_session = app.login("+79123456789").await;
    app.client
        .clone()
        .logout(authed(&phone_session.token, LogoutRequest {}))
        .await
        .unwrap();
    assert_status(
        app.profile(&phone_session.token).await,
        Code::Unauthenticated,
        "revoked",
    );
    app.profile(&laptop_session.token)
        .await
        .expect("the other device stays logged in");
}

#[tokio::test]
async fn logout_without_a_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    assert_status(
        app.client.clone().logout(LogoutRequest {}).await,
        Code::Unauthenticated,
        "missing session token",
    );
}

#[tokio::test]
async fn logout_all_revokes_every_session_of_the_caller_and_no_one_elses() {
    use phone_auth::proto::LogoutAllRequest;
    let app = TestApp::spawn().await;
    let devices = [
        app.login("+79123456789").await,
        app.login("+79123456789").await,
        app.login("+79123456789").await,
    ];
    let other = app.login("+79120000000").await;
    app.client
        .clone()
        .logout(authed(&devices[2].token, LogoutRequest {}))
        .await
        .unwrap();

    let response = app
        .client
        .clone()
        .logout_all(authed(&devices[0].token, LogoutAllRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.revoked_sessions, 2, "the two live sessions");
    for device in &devices {
        assert_status(
            app.profile(&device.token).await,
            Code::Unauthenticated,
            "revoked",
        );
    }
    app.profile(&other.token)
        .await
        .expect("another user's session is untouched");

    let again = app.login("+79123456789").await;
    app.profile(&again.token)
        .await
        .expect("logging in again works");
}
