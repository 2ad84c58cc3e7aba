//! The browser's session: a login may take its token as an HttpOnly cookie; the cookie then
//! authenticates, state changes need the CSRF token, and a logout clears both.
use http::{HeaderMap, Method};
use serde_json::json;

use super::client::Rest;
use crate::helpers::{TestApp, phone};

/// `name=value` pairs of the Set-Cookie headers, with each cookie's attributes.
fn set_cookies(headers: &HeaderMap) -> Vec<(String, String, String)> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned(), attributes.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_cookie_session_needs_the_csrf_token_to_change_anything_and_logout_clears_it() {
    let app = TestApp::spawn().await;
    let rest = Rest::http1(app.addr);
    let inviter = app.login(&phone(1)).await;
    let me = phone(2);
    let code = app.request_code(&me).await;
    let body = json!({"phone_number": me, "verification_code": code}).to_string();
    let login = rest
        .send(
            Method::POST,
            "/users/user_login/",
            &[
                ("content-type", "application/json"),
                ("x-session-delivery", "cookie"),
            ],
            body,
        )
        .await;
    assert_eq!(
        login.assert_ok()["sessionToken"],
        "",
        "the token is not for scripts"
    );
    let cookies = set_cookies(&login.headers);
    let [
        (session_name, session, session_attrs),
        (csrf_name, csrf, csrf_attrs),
    ] = &cookies[..]
    else {
        panic!("{cookies:?}");
    };
    assert_eq!(
        (session_name.as_str(), csrf_name.as_str()),
        ("phoneauth_session", "phoneauth_csrf")
    );
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(session_attrs.contains(attribute), "{session_attrs}");
    }
    assert!(!csrf_attrs.contains("HttpOnly") && csrf_attrs.contains("SameSite=Strict"));
    let cookie = format!("phoneauth_session={session}; phoneauth_csrf={csrf}");

    let profile = rest
        .send(Method::GET, "/users/profile/", &[("cookie", &cookie)], "")
        .await;
    assert_eq!(profile.assert_ok()["phoneNumber"], me);

    let set = json!({"invited_by": inviter.profile.invite_code}).to_string();
    let json = ("content-type", "application/json");
    let forged = rest
        .send(
            Method::POST,
            "/users/profile/",
            &[json, ("cookie", &cookie)],
            set.clone(),
        )
        .await;
    forged.assert_error(403, 7);
    assert_eq!(forged.reason(), Some("CSRF_TOKEN_INVALID"));
    let wrong = rest
        .send(
            Method::POST,
            "/users/profile/",
            &[json, ("cookie", &cookie), ("x-csrf-token", session)],
            set.clone(),
        )
        .await;
    wrong.assert_error(403, 7);
    assert_eq!(
        app.profile(&session.clone()).await.unwrap().invited_by,
        "",
        "the refused calls changed nothing"
    );
    let with_token = [json, ("cookie", &cookie), ("x-csrf-token", csrf)];
    let set = rest
        .send(Method::PATCH, "/users/profile/", &with_token, set)
        .await;
    assert_eq!(set.assert_ok()["invitedBy"], inviter.profile.invite_code);

    let logout = rest
        .send(Method::POST, "/users/logout/", &with_token, "")
        .await;
    logout.assert_ok();
    let cleared = set_cookies(&logout.headers);
    assert_eq!(cleared.len(), 2, "{cleared:?}");
    assert!(
        cleared
            .iter()
            .all(|(_, value, attrs)| value.is_empty() && attrs.contains("Max-Age=0"))
    );
    rest.send(Method::GET, "/users/profile/", &[("cookie", &cookie)], "")
        .await
        .assert_error(401, 16);
}

#[tokio::test]
async fn a_stale_cookie_does_not_stand_in_the_way_of_logging_in_again() {
    let app = TestApp::spawn().await;
    let rest = Rest::http1(app.addr);
    let stale = "phoneauth_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; phoneauth_csrf=x";
    let body = json!({"phone_number": phone(1)}).to_string();
    let sent = rest
        .send(
            Method::POST,
            "/users/auth/",
            &[("content-type", "application/json"), ("cookie", stale)],
            body,
        )
        .await;
    sent.assert_ok();
}
