//! gRPC-Web on the gRPC port: every RPC answers a browser-style client over HTTP/1.1, in binary
//! and in text, through the same auth, limits and metrics as native gRPC.
mod client;
mod cors;

use phone_auth::proto::{
    GetProfileRequest, ListUsersRequest, LogoutAllRequest, LogoutRequest, RequestCodeRequest,
    SetInviterRequest, VerifyCodeRequest,
};
use tonic::Code;

use crate::{
    helpers::{ADMIN_PHONE, TestApp, assert_status, authed, bad_request_field, phone, retry_delay},
    observability::{sample, scrape},
};
use client::{MODES, Mode, web_client};

/// The phone each mode logs in with, so that the two modes never share a limit or a user.
fn phone_for(mode: Mode, n: u32) -> String {
    match mode {
        Mode::Binary => phone(100 + n),
        Mode::Text => phone(200 + n),
    }
}

#[tokio::test]
async fn every_rpc_answers_over_grpc_web_in_binary_and_in_text() {
    let app = TestApp::spawn().await;
    let inviter = app.login(&phone(1)).await;
    for mode in MODES {
        let mut web = web_client(app.addr, mode);
        let me = phone_for(mode, 1);
        let sent = web
            .request_code(RequestCodeRequest {
                phone_number: me.clone(),
            })
            .await
            .unwrap_or_else(|status| panic!("{mode:?} RequestCode: {status:?}"))
            .into_inner();
        assert_eq!(sent.phone_number, me, "{mode:?}");
        let login = web
            .verify_code(VerifyCodeRequest {
                phone_number: me.clone(),
                verification_code: sent.debug_code,
            })
            .await
            .unwrap_or_else(|status| panic!("{mode:?} VerifyCode: {status:?}"))
            .into_inner();
        assert!(login.created, "{mode:?}");
        let token = login.session_token;

        let profile = web
            .get_profile(authed(&token, GetProfileRequest::default()))
            .await
            .expect("GetProfile with the bearer token")
            .into_inner();
        assert_eq!(profile.phone_number, me, "{mode:?}");
        let profile = web
            .set_inviter(authed(
                &token,
                SetInviterRequest {
                    invited_by: inviter.profile.invite_code.clone(),
                },
            ))
            .await
            .expect("SetInviter")
            .into_inner();
        assert_eq!(profile.invited_by, inviter.profile.invite_code, "{mode:?}");
        web.logout(authed(&token, LogoutRequest {}))
            .await
            .expect("Logout");
        assert_status(
            web.get_profile(authed(&token, GetProfileRequest::default()))
                .await,
            Code::Unauthenticated,
            "log in again",
        );

        // LogoutAll, and ListUsers as the administrator, on a session logged in natively.
        let admin = app.login(ADMIN_PHONE).await;
        let users = web
            .list_users(authed(&admin.token, ListUsersRequest::default()))
            .await
            .expect("ListUsers")
            .into_inner();
        assert!(users.users.iter().any(|user| user.phone_number == me));
        let revoked = web
            .logout_all(authed(&admin.token, LogoutAllRequest {}))
            .await
            .expect("LogoutAll")
            .into_inner();
        assert!(revoked.revoked_sessions >= 1, "{mode:?}");
        assert_status(app.profile(&admin.token).await, Code::Unauthenticated, "");
    }
    let inviter = app.profile(&inviter.token).await.unwrap();
    assert_eq!(inviter.referral_count, 2, "both modes' users were linked");
}

#[tokio::test]
async fn an_error_over_grpc_web_carries_its_status_message_and_details() {
    let app = TestApp::spawn().await;
    for mode in MODES {
        let mut web = web_client(app.addr, mode);
        let status = assert_status(
            web.verify_code(VerifyCodeRequest {
                phone_number: "not a phone".into(),
                verification_code: "1234".into(),
            })
            .await,
            Code::InvalidArgument,
            "phone_number",
        );
        assert_eq!(
            bad_request_field(&status).as_deref(),
            Some("phone_number"),
            "{mode:?}"
        );
        assert_status(
            web.get_profile(GetProfileRequest::default()).await,
            Code::Unauthenticated,
            "missing session token",
        );
    }
}

/// The resend cooldown is one limit whatever the protocol: a code sent by native gRPC holds
/// back the next one asked for by gRPC-Web, with the same RetryInfo.
#[tokio::test]
async fn grpc_and_grpc_web_spend_the_same_resend_cooldown() {
    let app = TestApp::spawn_with(&[("RESEND_INTERVAL_SECONDS", "60")]).await;
    for mode in MODES {
        let phone = phone_for(mode, 2);
        app.request_code(&phone).await;
        let status = assert_status(
            web_client(app.addr, mode)
                .request_code(RequestCodeRequest {
                    phone_number: phone,
                })
                .await,
            Code::ResourceExhausted,
            "just sent",
        );
        let delay = retry_delay(&status);
        assert!(
            delay > std::time::Duration::ZERO && delay <= std::time::Duration::from_secs(60),
            "{mode:?}: {delay:?}"
        );
    }
}

/// A gRPC-Web success carries its status in the body's last frame, not in HTTP trailers; the
/// metrics read it there (and an error's from the headers, as for native gRPC).
#[tokio::test]
async fn metrics_count_grpc_web_calls_under_their_method_and_code() {
    let app = TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    for mode in MODES {
        let before = scrape(metrics).await;
        let mut web = web_client(app.addr, mode);
        web.request_code(RequestCodeRequest {
            phone_number: phone_for(mode, 3),
        })
        .await
        .expect("RequestCode");
        let _ = web.get_profile(GetProfileRequest::default()).await;
        let after = scrape(metrics).await;
        let moved = |labels: &[&str]| {
            let name = "phoneauth_rpc_requests_total";
            sample(&after, name, labels) - sample(&before, name, labels)
        };
        // The recorder is the process's, shared with the tests running beside this one: other
        // calls may add to a count, but none of them ends a RequestCode with no status.
        let ok = [r#"method="RequestCode""#, r#"code="OK""#];
        assert!(moved(&ok) >= 1.0, "{mode:?}");
        let unknown = [r#"method="RequestCode""#, r#"code="UNKNOWN""#];
        assert_eq!(moved(&unknown), 0.0, "{mode:?}: a success read as UNKNOWN");
        let refused = [r#"method="GetProfile""#, r#"code="UNAUTHENTICATED""#];
        assert!(moved(&refused) >= 1.0, "{mode:?}");
    }
}
