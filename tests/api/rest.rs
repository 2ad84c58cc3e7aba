//! REST/JSON on the gRPC port, at the seed's URLs: every RPC, over HTTP/1.1 and h2, through the
//! same auth, limits and metrics as native gRPC, with errors as google.rpc.Status JSON.
pub mod client;
mod cookie;
mod errors;

use http::Method;
use phone_auth::proto::RequestCodeRequest;
use serde_json::json;
use tonic::Code;

use crate::{
    helpers::{ADMIN_PHONE, TestApp, assert_status, phone},
    observability::{sample, scrape},
    service_clients::{ORDERS_TOKEN, spawn_for_services},
};
use client::Rest;

#[tokio::test]
async fn every_rpc_answers_at_the_seeds_urls_over_http1_and_h2() {
    let app = spawn_for_services(&[]).await;
    let admin = app.login(ADMIN_PHONE).await;
    for (n, rest) in [(10, Rest::http1(app.addr)), (20, Rest::h2(app.addr))] {
        // The seed's spelling with the slash, and ours without.
        let me = phone(n);
        let sent = rest
            .post("/users/auth/", None, json!({"phone_number": me}))
            .await;
        let sent = sent.assert_ok();
        assert_eq!(sent["phoneNumber"], me);
        assert_eq!(sent["codeLength"], 4);
        let login = rest
            .post(
                "/users/user_login",
                None,
                json!({"phoneNumber": me, "verificationCode": sent["debugCode"]}),
            )
            .await;
        let login = login.assert_ok();
        assert_eq!(login["created"], true);
        // The proto3 JSON mapping: int64 as a string, RFC 3339 times, every field present.
        assert!(
            login["profile"]["userId"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .is_ok()
        );
        assert!(login["sessionExpiresAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(login["profile"]["invitedBy"], "");
        let token = login["sessionToken"].as_str().unwrap().to_owned();

        let inviter = rest.login(&phone(n + 1)).await;
        let inviter_code = inviter["profile"]["inviteCode"].as_str().unwrap();
        let other = rest.login(&phone(n + 2)).await;
        // SetInviter by POST, and by PATCH for another user.
        let set = rest
            .post(
                "/users/profile/",
                Some(&token),
                json!({"invited_by": inviter_code}),
            )
            .await;
        assert_eq!(set.assert_ok()["invitedBy"], inviter_code);
        let patched = rest
            .call(
                Method::PATCH,
                "/users/profile",
                other["sessionToken"].as_str(),
                json!({"invitedBy": inviter_code.to_lowercase()}),
            )
            .await;
        assert_eq!(patched.assert_ok()["invitedBy"], inviter_code);

        let inviter_token = inviter["sessionToken"].as_str();
        let page = rest
            .get("/users/profile/?referrals_page_size=1", inviter_token)
            .await;
        let page = page.assert_ok();
        assert_eq!(page["referralCount"], "2");
        assert_eq!(page["referrals"].as_array().unwrap().len(), 1);
        let next = page["nextReferralsPageToken"].as_str().unwrap();
        let second = rest
            .get(
                &format!("/users/profile?referralsPageToken={next}"),
                inviter_token,
            )
            .await;
        assert_eq!(
            second.assert_ok()["referrals"][0]["phoneNumber"],
            phone(n + 2)
        );

        let users = rest
            .get("/users/list/?page_size=2", Some(&admin.token))
            .await;
        assert_eq!(users.assert_ok()["users"].as_array().unwrap().len(), 2);

        // Introspect, for services, with their credential.
        let headers = [
            ("content-type", "application/json"),
            ("x-service-token", ORDERS_TOKEN),
        ];
        let body = json!({"session_token": token}).to_string();
        let seen = rest
            .send(Method::POST, "/services/introspect/", &headers, body)
            .await;
        let seen = seen.assert_ok();
        assert_eq!(seen["active"], true);
        assert_eq!(seen["phoneNumber"], me);

        // Logout with an empty body; LogoutAll for the other user's sessions.
        rest.send(
            Method::POST,
            "/users/logout/",
            &[("authorization", &format!("Bearer {token}"))],
            "",
        )
        .await
        .assert_ok();
        rest.get("/users/profile/", Some(&token))
            .await
            .assert_error(401, 16);
        let all = rest
            .post("/users/logout_all/", inviter_token, json!({}))
            .await;
        assert_eq!(all.assert_ok()["revokedSessions"], 1);
        rest.get("/users/profile/", inviter_token)
            .await
            .assert_error(401, 16);
    }
}

#[tokio::test]
async fn grpc_and_rest_spend_the_same_limits_and_share_sessions() {
    let app = TestApp::spawn_with(&[
        ("REQUEST_CODE_PER_IP_BURST", "4"),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "1"),
        ("RESEND_INTERVAL_SECONDS", "60"),
    ])
    .await;
    let rest = Rest::http1(app.addr);
    // A session from a gRPC login works over REST, and a REST logout ends it for gRPC. (The
    // login spends the first of the address's 4 calls.)
    let user = app.login(&phone(5)).await;
    let profile = rest.get("/users/profile/", Some(&user.token)).await;
    assert_eq!(profile.assert_ok()["inviteCode"], user.profile.invite_code);
    rest.post("/users/logout/", Some(&user.token), json!({}))
        .await
        .assert_ok();
    assert_status(
        app.profile(&user.token).await,
        Code::Unauthenticated,
        "log in again",
    );

    // The per-phone cooldown: spent by gRPC, refused over REST.
    app.request_code(&phone(1)).await;
    let again = rest
        .post("/users/auth/", None, json!({"phone_number": phone(1)}))
        .await;
    again.assert_error(429, 8);
    assert!(again.headers.contains_key("retry-after"), "{again:#?}");
    // The per-address bucket (4): the login, the gRPC call and the refused REST call above
    // (an address pays for the calls it makes, refused ones too), one more REST call, then one
    // of each protocol refused.
    rest.post("/users/auth/", None, json!({"phone_number": phone(2)}))
        .await
        .assert_ok();
    rest.post("/users/auth/", None, json!({"phone_number": phone(3)}))
        .await
        .assert_error(429, 8);
    let grpc = app
        .client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: phone(4),
        })
        .await;
    assert_status(grpc, Code::ResourceExhausted, "network address");
}

#[tokio::test]
async fn rest_calls_are_counted_under_their_rpc() {
    let app = TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let rest = Rest::http1(app.addr);
    let name = "phoneauth_rpc_requests_total";
    // The recorder is the process's, shared with the tests running beside this one: so the
    // counts are compared as at-least. (That REST calls are not also counted as `unknown` is
    // a unit test of metrics_layer.rs: other tests here call unknown gRPC paths at any time.)
    let ok = ["method=\"RequestCode\"", "code=\"OK\""];
    let refused = ["method=\"RequestCode\"", "code=\"INVALID_ARGUMENT\""];
    let before = scrape(metrics).await;
    rest.post("/users/auth/", None, json!({"phone_number": phone(1)}))
        .await
        .assert_ok();
    rest.post("/users/auth/", None, json!({"phone_number": "12"}))
        .await
        .assert_error(400, 3);
    rest.get("/users/nothing/", None).await.assert_error(404, 5);
    let after = scrape(metrics).await;
    let moved = |labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert!(moved(&ok) >= 1.0, "{after}");
    assert!(moved(&refused) >= 1.0, "{after}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_rest_client_has_its_own_address_bucket() {
    let app = TestApp::spawn_with(&[
        ("REQUEST_CODE_PER_IP_BURST", "1"),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "1"),
        ("TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    let rest = Rest::http1(app.addr);
    let from = |client: &'static str, n: u32| {
        let body = json!({"phone_number": phone(n)}).to_string();
        let rest = &rest;
        async move {
            let headers = [
                ("content-type", "application/json"),
                ("x-forwarded-for", client),
            ];
            rest.send(Method::POST, "/users/auth/", &headers, body)
                .await
        }
    };
    from("198.51.100.1", 1).await.assert_ok();
    from("198.51.100.2", 2).await.assert_ok();
    let refused = from("198.51.100.1", 3).await;
    refused.assert_error(429, 8);
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap()
            .contains("network address")
    );
}
