//! Every error a REST client can meet: the HTTP status of its gRPC code, the google.rpc.Status
//! shape with decoded details, Retry-After from RetryInfo, and refusals of malformed requests
//! that name the field at fault.
use http::Method;
use serde_json::json;

use super::client::Rest;
use crate::helpers::{ADMIN_PHONE, TestApp, phone};

#[tokio::test]
async fn each_grpc_code_answers_its_http_status_with_its_details() {
    let app = TestApp::spawn_with(&[
        ("SMS_BUDGET_PER_COUNTRY_PER_WINDOW", "3"),
        ("RESEND_INTERVAL_SECONDS", "60"),
    ])
    .await;
    let rest = Rest::http1(app.addr);

    let bad = rest
        .post("/users/auth/", None, json!({"phone_number": "+7 abc"}))
        .await;
    bad.assert_error(400, 3);
    assert_eq!(bad.bad_field(), Some("phone_number"));
    assert_eq!(bad.reason(), Some("INVALID_FIELD"));

    let anonymous = rest.get("/users/profile/", None).await;
    anonymous.assert_error(401, 16);
    assert_eq!(anonymous.headers["www-authenticate"], "Bearer");

    let a = app.login(&phone(1)).await;
    let b = app.login(&phone(2)).await;
    rest.get("/users/list/", Some(&a.token))
        .await
        .assert_error(403, 7);

    let unknown = rest
        .post(
            "/users/profile/",
            Some(&a.token),
            json!({"invited_by": "ZZZZZZ"}),
        )
        .await;
    unknown.assert_error(404, 5);
    assert_eq!(unknown.reason(), Some("INVITE_CODE_NOT_FOUND"));

    rest.post(
        "/users/profile/",
        Some(&b.token),
        json!({"invited_by": a.profile.invite_code}),
    )
    .await
    .assert_ok();
    let again = rest
        .post(
            "/users/profile/",
            Some(&b.token),
            json!({"invited_by": a.profile.invite_code}),
        )
        .await;
    again.assert_error(409, 6);
    let cycle = rest
        .post(
            "/users/profile/",
            Some(&a.token),
            json!({"invited_by": b.profile.invite_code}),
        )
        .await;
    cycle.assert_error(412, 9);
    assert_eq!(cycle.reason(), Some("REFERRAL_CYCLE"));

    let throttled = rest
        .post("/users/auth/", None, json!({"phone_number": phone(1)}))
        .await;
    throttled.assert_error(429, 8);
    let delay = throttled.detail("google.rpc.RetryInfo").expect("RetryInfo")["retryDelay"].clone();
    let seconds: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&seconds), "{seconds} for {delay}");

    // Three SMS per country per window: two spent by the logins above, one now; the fourth is
    // UNAVAILABLE. (The throttled call spent nothing.)
    rest.post("/users/auth/", None, json!({"phone_number": phone(3)}))
        .await
        .assert_ok();
    let spent = rest
        .post("/users/auth/", None, json!({"phone_number": phone(4)}))
        .await;
    spent.assert_error(503, 14);
    assert!(spent.headers.contains_key("retry-after"), "{spent:#?}");

    let wrong_code = rest
        .post(
            "/users/user_login/",
            None,
            json!({"phone_number": ADMIN_PHONE, "verification_code": "0000"}),
        )
        .await;
    wrong_code.assert_error(400, 3);
    assert_eq!(wrong_code.bad_field(), Some("verification_code"));
}

#[tokio::test]
async fn malformed_requests_are_refused_naming_what_is_wrong() {
    let app = TestApp::spawn_with(&[("MAX_REQUEST_BYTES", "2048")]).await;
    let rest = Rest::http1(app.addr);
    let json_headers = [("content-type", "application/json")];
    let send = |method, path, body: &'static str| rest.send(method, path, &json_headers, body);

    let unknown = send(Method::POST, "/users/auth/", r#"{"phone": "+79123456789"}"#).await;
    unknown.assert_error(400, 3);
    assert_eq!(unknown.bad_field(), Some("phone"));
    let wrong_type = send(
        Method::POST,
        "/users/auth/",
        r#"{"phone_number": 79123456789}"#,
    )
    .await;
    assert_eq!(
        wrong_type.assert_error(400, 3).bad_field(),
        Some("phone_number")
    );
    for junk in ["{", "[1,2]", "\"x\"", "{\"phone_number\": \"\\ud800\"}"] {
        send(Method::POST, "/users/auth/", junk)
            .await
            .assert_error(400, 3);
    }
    let page = send(Method::GET, "/users/profile/?referrals_page_size=lots", "").await;
    assert_eq!(
        page.assert_error(400, 3).bad_field(),
        Some("referrals_page_size")
    );

    let form = rest
        .send(
            Method::POST,
            "/users/auth/",
            &[("content-type", "application/x-www-form-urlencoded")],
            "phone_number=1",
        )
        .await;
    assert_eq!(form.status.as_u16(), 415, "{form:#?}");
    let get_logout = rest.get("/users/logout/", None).await;
    assert_eq!(get_logout.status.as_u16(), 405, "{get_logout:#?}");
    assert_eq!(get_logout.headers["allow"], "POST");
    rest.get("/users/nothing-here/", None)
        .await
        .assert_error(404, 5);

    let big = format!(r#"{{"phone_number": "{}"}}"#, "1".repeat(4096));
    let too_big = rest
        .send(Method::POST, "/users/auth/", &json_headers, big)
        .await;
    assert_eq!(too_big.status.as_u16(), 413, "{too_big:#?}");
    assert_eq!(too_big.reason(), Some("REQUEST_TOO_LARGE"));

    // None of these reached a handler or spent a limit: the number can still ask for a code.
    rest.post("/users/auth/", None, json!({"phone_number": phone(1)}))
        .await
        .assert_ok();
}
