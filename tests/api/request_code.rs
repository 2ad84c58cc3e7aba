use phone_auth::proto::RequestCodeRequest;
use tonic::Code;

use crate::helpers::{TestApp, assert_status, bad_request_field};

#[tokio::test]
async fn request_code_returns_e164_expiry_and_the_console_debug_code() {
    let app = TestApp::spawn_with(&[("RESEND_INTERVAL_SECONDS", "60")]).await;
    let response = app
        .client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: "+7 912 345-67-89".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.phone_number, "+79123456789");
    assert_eq!(response.expires_in_seconds, 300);
    assert_eq!(response.resend_after_seconds, 60);
    assert_eq!(response.code_length, 4);
    assert_eq!(response.debug_code.len(), 4);
    assert!(response.debug_code.bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn request_code_reads_national_formats_in_the_default_region() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: "8 (912) 345-67-89".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.phone_number, "+79123456789");

    let us = TestApp::spawn_with(&[("DEFAULT_REGION", "US")]).await;
    let response = us
        .client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: "(650) 253-0000".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.phone_number, "+16502530000");
}

#[tokio::test]
async fn request_code_with_an_invalid_phone_is_invalid_argument_naming_the_field() {
    let app = TestApp::spawn().await;
    for bad in [
        "",
        "12345",
        "not a phone",
        "+7 912 345",
        "+999 1234567",
        &"1".repeat(500),
    ] {
        let result = app
            .client
            .clone()
            .request_code(RequestCodeRequest {
                phone_number: bad.into(),
            })
            .await;
        let status = assert_status(result, Code::InvalidArgument, "phone_number");
        assert_eq!(
            bad_request_field(&status).as_deref(),
            Some("phone_number"),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn code_length_follows_the_configuration() {
    let app = TestApp::spawn_with(&[("CODE_LENGTH", "6")]).await;
    let code = app.request_code("+79123456789").await;
    assert_eq!(code.len(), 6);
    app.verify("+79123456789", &code)
        .await
        .expect("a 6-digit code logs in");
}

#[tokio::test]
async fn a_new_request_replaces_the_previous_code() {
    let app = TestApp::spawn().await;
    let phone = "+79123456789";
    let mut first = app.request_code(phone).await;
    let mut second = app.request_code(phone).await;
    // Codes are random; ask again until the two differ so the test proves replacement.
    while first == second {
        first = second;
        second = app.request_code(phone).await;
    }
    assert_status(
        app.verify(phone, &first).await,
        Code::InvalidArgument,
        "wrong or has expired",
    );
    app.verify(phone, &second)
        .await
        .expect("the newest code works");
}

#[tokio::test]
async fn codes_are_spread_over_all_digits() {
    let app = TestApp::spawn().await;
    let mut seen = std::collections::HashSet::new();
    for n in 0..40 {
        seen.insert(app.request_code(&crate::helpers::phone(n)).await);
    }
    // 40 draws from 10,000 values: a repeat-heavy result would mean a broken generator.
    assert!(seen.len() >= 35, "only {} distinct codes in 40", seen.len());
}
