use tonic::Code;

use crate::helpers::{TestApp, assert_status, bad_request_field, phone};

#[tokio::test]
async fn set_inviter_links_the_caller_and_returns_the_new_profile() {
    let app = TestApp::spawn().await;
    let inviter = app.login(&phone(0)).await;
    let user = app.login(&phone(1)).await;
    // Case and surrounding spaces are ignored.
    let typed = format!("  {}  ", inviter.profile.invite_code.to_lowercase());
    let profile = app.set_inviter(&user.token, &typed).await.unwrap();
    assert_eq!(profile.invited_by, inviter.profile.invite_code);
    assert_eq!(profile.user_id, user.profile.user_id);

    let inviter_profile = app.profile(&inviter.token).await.unwrap();
    assert_eq!(inviter_profile.referral_count, 1);
    assert_eq!(inviter_profile.referrals[0].phone_number, user.phone);
}

#[tokio::test]
async fn an_unknown_code_is_not_found() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(1)).await;
    let unused = if user.profile.invite_code == "ZZZZZZ" {
        "YYYYYY"
    } else {
        "ZZZZZZ"
    };
    assert_status(
        app.set_inviter(&user.token, unused).await,
        Code::NotFound,
        unused,
    );
    // Strings that cannot be a code at all name no user either.
    assert_status(
        app.set_inviter(&user.token, "NOPE00").await,
        Code::NotFound,
        "NOPE00",
    );
    assert_eq!(app.profile(&user.token).await.unwrap().invited_by, "");
}

#[tokio::test]
async fn an_empty_code_is_invalid_argument_naming_invited_by() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(1)).await;
    let status = assert_status(
        app.set_inviter(&user.token, "   ").await,
        Code::InvalidArgument,
        "invited_by",
    );
    assert_eq!(bad_request_field(&status).as_deref(), Some("invited_by"));
}

#[tokio::test]
async fn the_callers_own_code_is_invalid_argument() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(1)).await;
    assert_status(
        app.set_inviter(&user.token, &user.profile.invite_code)
            .await,
        Code::InvalidArgument,
        "own invite code",
    );
}

#[tokio::test]
async fn a_second_inviter_is_already_exists_and_the_first_stands() {
    let app = TestApp::spawn().await;
    let first = app.login(&phone(0)).await;
    let second = app.login(&phone(1)).await;
    let user = app.login(&phone(2)).await;
    app.set_inviter(&user.token, &first.profile.invite_code)
        .await
        .unwrap();
    let status = assert_status(
        app.set_inviter(&user.token, &second.profile.invite_code)
            .await,
        Code::AlreadyExists,
        &first.profile.invite_code,
    );
    assert!(status.message().contains("already set"));
    // Setting the same inviter again is refused too: the link is made once.
    assert_status(
        app.set_inviter(&user.token, &first.profile.invite_code)
            .await,
        Code::AlreadyExists,
        "already set",
    );
    assert_eq!(
        app.profile(&user.token).await.unwrap().invited_by,
        first.profile.invite_code
    );
    assert_eq!(app.profile(&second.token).await.unwrap().referral_count, 0);
    assert_eq!(app.profile(&first.token).await.unwrap().referral_count, 1);
}

#[tokio::test]
async fn a_link_that_would_close_a_cycle_is_failed_precondition() {
    let app = TestApp::spawn().await;
    let a = app.login(&phone(0)).await;
    let b = app.login(&phone(1)).await;
    let c = app.login(&phone(2)).await;
    // A invited B, B invited C.
    app.set_inviter(&b.token, &a.profile.invite_code)
        .await
        .unwrap();
    app.set_inviter(&c.token, &b.profile.invite_code)
        .await
        .unwrap();
    // A naming C (C→B→A→C) or B (direct) closes a cycle.
    assert_status(
        app.set_inviter(&a.token, &c.profile.invite_code).await,
        Code::FailedPrecondition,
        "cycle",
    );
    assert_status(
        app.set_inviter(&a.token, &b.profile.invite_code).await,
        Code::FailedPrecondition,
        "cycle",
    );
    assert_eq!(app.profile(&a.token).await.unwrap().invited_by, "");
    // A may still name someone outside its downstream.
    let d = app.login(&phone(3)).await;
    app.set_inviter(&a.token, &d.profile.invite_code)
        .await
        .unwrap();
}
