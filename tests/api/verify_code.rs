use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{TestApp, all_at_once, assert_status, bad_request_field, invite_alphabet_ok};

const PHONE: &str = "+79123456789";

/// A code guaranteed to differ from `code`.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

#[tokio::test]
async fn first_login_registers_the_user_and_the_next_finds_them() {
    let app = TestApp::spawn().await;
    let code = app.request_code(PHONE).await;
    let first = app.verify(PHONE, &code).await.unwrap();
    assert!(first.created);
    assert!(
        first.session_token.len() >= 22,
        "at least 128 bits of token"
    );
    let profile = first.profile.unwrap();
    assert_eq!(profile.phone_number, PHONE);
    assert!(
        invite_alphabet_ok(&profile.invite_code),
        "{}",
        profile.invite_code
    );
    assert_eq!(profile.invited_by, "");
    assert!(profile.created_at.is_some());
    assert!(first.session_expires_at.is_some());

    let code = app.request_code("8 912 345 67 89").await;
    let second = app.verify("8 (912) 345-67-89", &code).await.unwrap();
    assert!(!second.created);
    let again = second.profile.unwrap();
    assert_eq!(again.user_id, profile.user_id);
    assert_eq!(again.invite_code, profile.invite_code);
    assert_ne!(second.session_token, first.session_token);
}

#[tokio::test]
async fn a_wrong_code_is_invalid_argument_with_the_attempts_left() {
    let app = TestApp::spawn().await;
    let code = app.request_code(PHONE).await;
    let status = assert_status(
        app.verify(PHONE, &wrong(&code)).await,
        Code::InvalidArgument,
        "4 attempts left",
    );
    assert_eq!(
        bad_request_field(&status).as_deref(),
        Some("verification_code")
    );
    let info = status.get_details_error_info().expect("ErrorInfo detail");
    assert_eq!(info.reason, "WRONG_CODE");
    assert_eq!(
        info.metadata.get("attempts_left").map(String::as_str),
        Some("4")
    );
    app.verify(PHONE, &code)
        .await
        .expect("the right code still works after one miss");
}

#[tokio::test]
async fn five_wrong_codes_destroy_the_code() {
    let app = TestApp::spawn().await;
    let code = app.request_code(PHONE).await;
    for left in (0..5).rev() {
        let status = app.verify(PHONE, &wrong(&code)).await.unwrap_err();
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.metadata["attempts_left"], left.to_string());
    }
    assert_status(
        app.verify(PHONE, &code).await,
        Code::InvalidArgument,
        "request a new code",
    );
}

#[tokio::test]
async fn a_code_works_only_once() {
    let app = TestApp::spawn().await;
    let code = app.request_code(PHONE).await;
    app.verify(PHONE, &code).await.unwrap();
    assert_status(
        app.verify(PHONE, &code).await,
        Code::InvalidArgument,
        "wrong or has expired",
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = TestApp::spawn_with(&[("CODE_TTL_SECONDS", "1")]).await;
    let code = app.request_code(PHONE).await;
    app.advance(std::time::Duration::from_millis(1001)).await;
    assert_status(
        app.verify(PHONE, &code).await,
        Code::InvalidArgument,
        "wrong or has expired",
    );
}

#[tokio::test]
async fn an_unknown_code_and_an_exhausted_one_answer_alike() {
    let app = TestApp::spawn().await;
    let never_sent = app.verify("+79990000123", "1234").await.unwrap_err();
    let code = app.request_code(PHONE).await;
    for _ in 0..4 {
        app.verify(PHONE, &wrong(&code)).await.unwrap_err();
    }
    let exhausted = app.verify(PHONE, &wrong(&code)).await.unwrap_err();
    assert_eq!(never_sent.code(), exhausted.code());
    assert_eq!(never_sent.message(), exhausted.message());
    assert_eq!(
        format!("{:?}", never_sent.get_details_error_info()),
        format!("{:?}", exhausted.get_details_error_info())
    );
}

#[tokio::test]
async fn malformed_input_names_the_field() {
    let app = TestApp::spawn().await;
    for (phone, code, field) in [
        (PHONE, "12a4", "verification_code"),
        (PHONE, "", "verification_code"),
        ("nope", "1234", "phone_number"),
    ] {
        let status = app.verify(phone, code).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(bad_request_field(&status).as_deref(), Some(field));
        assert!(status.message().starts_with(field), "{}", status.message());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifications_of_one_code_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    for round in 0..5 {
        let phone = crate::helpers::phone(round);
        let code = app.request_code(&phone).await;
        let results = all_at_once((0..16).map(|_| {
            let (mut client, phone, code) = (app.client.clone(), phone.clone(), code.clone());
            async move {
                client
                    .verify_code(phone_auth::proto::VerifyCodeRequest {
                        phone_number: phone,
                        verification_code: code,
                    })
                    .await
            }
        }))
        .await;
        let successes = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(successes, 1, "round {round}: {results:?}");
        for failure in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(failure.code(), Code::InvalidArgument);
        }
    }
}
