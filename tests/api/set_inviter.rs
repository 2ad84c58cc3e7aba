use tonic::Code;

use crate::helpers::{TestApp, assert_status, bad_request_field, phone, retry_delay};

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
    // Strings that cannot be a code at all name no user either (and are not echoed).
    assert_status(
        app.set_inviter(&user.token, "NOPE00").await,
        Code::NotFound,
        "invite code",
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

/// Each SetInviter is a guess at an invite code: one account gets SET_INVITER_PER_USER of
/// them per window, and a refused call says when to retry.
#[tokio::test]
async fn set_inviter_is_limited_per_user() {
    let app = TestApp::spawn_with(&[("SET_INVITER_PER_USER", "3")]).await;
    let user = app.login(&phone(1)).await;
    for guess in ["ZZZZZ2", "ZZZZZ3", "ZZZZZ4"] {
        assert_status(
            app.set_inviter(&user.token, guess).await,
            Code::NotFound,
            "invite code",
        );
    }
    let status = assert_status(
        app.set_inviter(&user.token, "ZZZZZ5").await,
        Code::ResourceExhausted,
        "too many SetInviter calls for this account",
    );
    assert!(retry_delay(&status) > std::time::Duration::ZERO);
    // Another account has its own budget.
    let other = app.login(&phone(2)).await;
    let inviter = app.login(&phone(3)).await;
    app.set_inviter(&other.token, &inviter.profile.invite_code)
        .await
        .expect("another account is not throttled");
}

/// Many accounts behind one address share its bucket, so new accounts buy no new guesses.
#[tokio::test]
async fn set_inviter_is_limited_per_client_address() {
    let app = TestApp::spawn_with(&[
        ("SET_INVITER_PER_IP_BURST", "2"),
        ("SET_INVITER_PER_IP_PER_MINUTE", "0.001"),
    ])
    .await;
    for n in 0..2 {
        let user = app.login(&phone(n)).await;
        assert_status(
            app.set_inviter(&user.token, "ZZZZZ2").await,
            Code::NotFound,
            "invite code",
        );
    }
    let third = app.login(&phone(2)).await;
    assert_status(
        app.set_inviter(&third.token, "ZZZZZ2").await,
        Code::ResourceExhausted,
        "too many SetInviter calls from your network address",
    );
}

/// Once an inviter is set, every code answers ALREADY_EXISTS: a linked account cannot tell
/// codes that exist from codes that do not.
#[tokio::test]
async fn a_linked_account_cannot_tell_which_codes_exist() {
    let app = TestApp::spawn().await;
    let inviter = app.login(&phone(0)).await;
    let other = app.login(&phone(1)).await;
    let user = app.login(&phone(2)).await;
    app.set_inviter(&user.token, &inviter.profile.invite_code)
        .await
        .unwrap();
    let unused = ["ZZZZZZ", "YYYYYY"]
        .into_iter()
        .find(|code| *code != inviter.profile.invite_code && *code != other.profile.invite_code)
        .unwrap();
    for code in [unused, other.profile.invite_code.as_str()] {
        assert_status(
            app.set_inviter(&user.token, code).await,
            Code::AlreadyExists,
            "already set",
        );
    }
}

/// The NOT_FOUND answer to a string that cannot be a code does not repeat it: it may carry
/// NUL, zero-width or other characters that have no place in a message or a log.
#[tokio::test]
async fn a_malformed_code_is_not_echoed() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(1)).await;
    for input in ["AB\0CDE", "ABC\u{200B}DEF", "<script>", "NOPE00"] {
        let status = assert_status(
            app.set_inviter(&user.token, input).await,
            Code::NotFound,
            "invite code",
        );
        let message = status.message();
        assert!(
            !message.contains(input) && !message.contains('\0') && !message.contains('\u{200B}'),
            "{message:?} echoes {input:?}"
        );
    }
}
