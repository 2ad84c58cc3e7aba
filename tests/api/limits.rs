//! One test per throttle: the refusal, its RetryInfo delay, and recovery after the window.
//! Windows are shrunk to fractions of a second through the same settings operators use.
use phone_auth::proto::RequestCodeRequest;
use tonic::{Code, Request};

use crate::helpers::{TestApp, assert_status, phone, retry_delay};

const PHONE: &str = "+79123456789";

async fn request(app: &TestApp, phone: &str) -> Result<String, tonic::Status> {
    app.client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: phone.into(),
        })
        .await
        .map(|r| r.into_inner().debug_code)
}

/// Lets the refusal's RetryInfo delay pass (and a millisecond more, for Redis's rounding).
async fn wait_out(app: &TestApp, status: &tonic::Status) {
    app.advance(retry_delay(status) + std::time::Duration::from_millis(1))
        .await;
}

#[tokio::test]
async fn a_second_code_within_the_resend_interval_is_resource_exhausted_until_it_passes() {
    let app = TestApp::spawn_with(&[("RESEND_INTERVAL_SECONDS", "0.5")]).await;
    request(&app, PHONE).await.unwrap();
    let status = assert_status(
        request(&app, PHONE).await,
        Code::ResourceExhausted,
        "just sent",
    );
    let delay = retry_delay(&status);
    assert!(
        delay > std::time::Duration::ZERO && delay <= std::time::Duration::from_millis(500),
        "{delay:?}"
    );
    // Other phones are not affected.
    request(&app, &phone(1)).await.unwrap();
    wait_out(&app, &status).await;
    request(&app, PHONE)
        .await
        .expect("allowed again after the interval");
}

#[tokio::test]
async fn codes_per_phone_are_capped_per_window() {
    let app = TestApp::spawn_with(&[
        ("CODES_PER_PHONE", "2"),
        ("CODES_PER_PHONE_WINDOW_SECONDS", "0.6"),
    ])
    .await;
    request(&app, PHONE).await.unwrap();
    request(&app, PHONE).await.unwrap();
    let status = assert_status(
        request(&app, PHONE).await,
        Code::ResourceExhausted,
        "too many codes",
    );
    assert!(retry_delay(&status) <= std::time::Duration::from_millis(600));
    wait_out(&app, &status).await;
    request(&app, PHONE).await.expect("the window has freed");
}

#[tokio::test]
async fn the_wrong_code_budget_survives_new_codes_and_refuses_even_the_right_code() {
    let app = TestApp::spawn_with(&[
        ("WRONG_CODES_PER_PHONE", "3"),
        ("WRONG_CODES_WINDOW_SECONDS", "1"),
    ])
    .await;
    let code = request(&app, PHONE).await.unwrap();
    let wrong = if code == "0000" { "1111" } else { "0000" };
    for _ in 0..2 {
        assert_status(
            app.verify(PHONE, wrong).await,
            Code::InvalidArgument,
            "wrong",
        );
    }
    // A fresh code does not reset the budget.
    let code = request(&app, PHONE).await.unwrap();
    let wrong = if code == "0000" { "1111" } else { "0000" };
    assert_status(
        app.verify(PHONE, wrong).await,
        Code::InvalidArgument,
        "wrong",
    );
    let status = assert_status(
        app.verify(PHONE, &code).await,
        Code::ResourceExhausted,
        "too many wrong codes",
    );
    assert!(retry_delay(&status) <= std::time::Duration::from_secs(1));
    wait_out(&app, &status).await;
    app.verify(PHONE, &code)
        .await
        .expect("the right code works once the window frees");
}

#[tokio::test]
async fn request_code_is_rate_limited_per_client_address() {
    let app = TestApp::spawn_with(&[
        ("REQUEST_CODE_PER_IP_BURST", "2"),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "60"),
    ])
    .await;
    request(&app, &phone(1)).await.unwrap();
    request(&app, &phone(2)).await.unwrap();
    let status = assert_status(
        request(&app, &phone(3)).await,
        Code::ResourceExhausted,
        "network address",
    );
    let delay = retry_delay(&status);
    assert!(
        delay > std::time::Duration::from_millis(900) && delay <= std::time::Duration::from_secs(1),
        "{delay:?}"
    );
    wait_out(&app, &status).await;
    request(&app, &phone(3))
        .await
        .expect("a token has been refilled");
}

#[tokio::test]
async fn verify_code_is_rate_limited_per_client_address() {
    let app = TestApp::spawn_with(&[
        ("VERIFY_CODE_PER_IP_BURST", "2"),
        ("VERIFY_CODE_PER_IP_PER_MINUTE", "120"),
    ])
    .await;
    app.verify(&phone(1), "1234").await.unwrap_err();
    app.verify(&phone(2), "1234").await.unwrap_err();
    let status = assert_status(
        app.verify(&phone(3), "1234").await,
        Code::ResourceExhausted,
        "VerifyCode",
    );
    assert!(retry_delay(&status) <= std::time::Duration::from_millis(500));
    wait_out(&app, &status).await;
    let code = request(&app, &phone(4)).await.unwrap();
    app.verify(&phone(4), &code)
        .await
        .expect("a token has been refilled");
}

fn from_forwarded(phone: &str, client: &str) -> Request<RequestCodeRequest> {
    let mut request = Request::new(RequestCodeRequest {
        phone_number: phone.into(),
    });
    request
        .metadata_mut()
        .insert("x-forwarded-for", client.parse().unwrap());
    request
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let limits = [
        ("REQUEST_CODE_PER_IP_BURST", "1"),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "1"),
    ];
    // Untrusted peer: the header is ignored, so two "clients" share the peer's bucket.
    let app = TestApp::spawn_with(&limits).await;
    app.client
        .clone()
        .request_code(from_forwarded(&phone(1), "198.51.100.1"))
        .await
        .unwrap();
    let result = app
        .client
        .clone()
        .request_code(from_forwarded(&phone(2), "198.51.100.2"))
        .await;
    assert_status(result, Code::ResourceExhausted, "network address");

    // Behind a trusted proxy (the test client on 127.0.0.1), each forwarded client has its own.
    let proxied =
        TestApp::spawn_with(&[limits[0], limits[1], ("TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    proxied
        .client
        .clone()
        .request_code(from_forwarded(&phone(1), "198.51.100.1"))
        .await
        .unwrap();
    proxied
        .client
        .clone()
        .request_code(from_forwarded(&phone(2), "198.51.100.2"))
        .await
        .unwrap();
    let result = proxied
        .client
        .clone()
        .request_code(from_forwarded(&phone(3), "198.51.100.1"))
        .await;
    assert_status(result, Code::ResourceExhausted, "network address");
}

#[tokio::test]
async fn past_the_global_sms_budget_real_numbers_are_unavailable_and_test_numbers_still_work() {
    let app = TestApp::spawn_with(&[
        ("SMS_BUDGET_PER_WINDOW", "2"),
        ("SMS_BUDGET_WINDOW_SECONDS", "1"),
        ("TEST_PHONE_CODES", "+79990000001:1234"),
    ])
    .await;
    // The budget counts per aligned window, so the run may straddle a boundary: at most two
    // windows' worth (4) go through before the breaker opens.
    let mut sent = 0;
    let refusal = loop {
        match request(&app, &phone(sent + 1)).await {
            Ok(_) => sent += 1,
            Err(status) => break status,
        }
        assert!(
            sent <= 4,
            "the budget of 2 per window never opened the breaker"
        );
    };
    assert!(sent >= 2, "refused before the budget was spent");
    assert_eq!(refusal.code(), Code::Unavailable, "{refusal:?}");
    assert!(refusal.message().contains("SMS delivery"), "{refusal:?}");
    assert_eq!(
        request(&app, "+79990000001").await.unwrap(),
        "1234",
        "test numbers spend no budget"
    );
    app.advance(std::time::Duration::from_millis(1001)).await;
    request(&app, &phone(50))
        .await
        .expect("the breaker closes when the window frees");
}

#[tokio::test]
async fn regions_outside_allowed_regions_are_refused_naming_the_region() {
    let app = TestApp::spawn_with(&[("ALLOWED_REGIONS", "kz, BY")]).await;
    let status = assert_status(
        request(&app, PHONE).await,
        Code::InvalidArgument,
        "region RU",
    );
    assert!(status.message().contains("does not serve"));
    request(&app, "+77012345678")
        .await
        .expect("Kazakh mobile is served");
}

#[tokio::test]
async fn numbers_that_cannot_receive_sms_are_refused() {
    let app = TestApp::spawn().await;
    for (number, kind) in [
        ("+74951234567", "FixedLine"),
        ("+18002345678", "TollFree"),
        ("+19002345678", "PremiumRate"),
    ] {
        let status = assert_status(
            request(&app, number).await,
            Code::InvalidArgument,
            "cannot receive SMS",
        );
        assert!(status.message().contains(kind), "{}", status.message());
    }
}

#[tokio::test]
async fn test_numbers_use_their_fixed_code_without_cooldown_but_keep_the_wrong_code_budget() {
    let app = TestApp::spawn_with(&[
        (
            "TEST_PHONE_CODES",
            "+79990000001:1234, 8 999 000 00 02:5678",
        ),
        ("RESEND_INTERVAL_SECONDS", "60"),
        ("WRONG_CODES_PER_PHONE", "2"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(request(&app, "+79990000001").await.unwrap(), "1234");
    }
    app.verify("+79990000001", "1234")
        .await
        .expect("the fixed code logs in");
    request(&app, "+79990000002").await.unwrap();
    assert_status(
        app.verify("+79990000002", "0000").await,
        Code::InvalidArgument,
        "wrong",
    );
    assert_status(
        app.verify("+79990000002", "0000").await,
        Code::InvalidArgument,
        "wrong",
    );
    assert_status(
        app.verify("+79990000002", "5678").await,
        Code::ResourceExhausted,
        "too many wrong codes",
    );
}
