//! The RPC metrics come from a layer around every service: calls are counted by method and
//! status whether or not a handler ran, and a path a client makes up cannot become a label.
use http::uri::PathAndQuery;
use phone_auth::proto::{LogoutAllResponse, RequestCodeRequest};
use tonic::{Code, Request, Status};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::{sample, scrape};
use crate::helpers::{TestApp, phone};

const REQUESTS: &str = "phoneauth_rpc_requests_total";
const DURATIONS: &str = "phoneauth_rpc_duration_seconds_count";

/// Sends `message` to `path` as that method's request, bypassing the typed client.
async fn call<M>(app: &TestApp, path: &'static str, message: M) -> Result<(), Status>
where
    M: prost::Message + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<M, LogoutAllResponse>::default();
    grpc.unary(
        Request::new(message),
        PathAndQuery::from_static(path),
        codec,
    )
    .await
    .map(drop)
}

#[tokio::test]
async fn a_successful_call_is_counted_ok_under_its_method_and_timed() {
    let app = TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let before = scrape(metrics).await;

    app.request_code(&phone(1)).await;

    let after = scrape(metrics).await;
    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    let method = r#"method="RequestCode""#;
    // The status of a success travels in the trailers at the end of the body.
    assert!(moved(REQUESTS, &[method, r#"code="OK""#]) >= 1.0);
    assert!(moved(DURATIONS, &[method]) >= 1.0);
}

#[tokio::test]
async fn calls_that_never_reach_a_handler_are_counted_with_the_status_they_got() {
    let app = TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let before = scrape(metrics).await;

    // A varint where VerifyCodeRequest has a string: it fails to decode before any handler
    // runs, and is answered trailers-only (the status in the response headers).
    let junk = LogoutAllResponse {
        revoked_sessions: 7,
    };
    let status = call(&app, "/phoneauth.v1.AuthService/VerifyCode", junk)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    for path in ["/phoneauth.v1.AuthService/Nope", "/made.up.Service/AnyName"] {
        let status = call(&app, path, LogoutAllResponse::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
    HealthClient::new(app.channel().await)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();

    let after = scrape(metrics).await;
    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    let verify = r#"method="VerifyCode""#;
    assert!(moved(REQUESTS, &[verify, r#"code="INVALID_ARGUMENT""#]) >= 1.0);
    assert!(moved(DURATIONS, &[verify]) >= 1.0);
    let unknown = r#"method="unknown""#;
    assert!(moved(REQUESTS, &[unknown, r#"code="UNIMPLEMENTED""#]) >= 2.0);
    // Only the RPC metrics' lines: other metrics (the service-credential counter of
    // SessionService and ext_authz) have a `method` label of their own, with "Check" in it.
    let rpc_lines: Vec<&str> = after
        .lines()
        .filter(|line| line.starts_with(REQUESTS) || line.starts_with(DURATIONS))
        .collect();
    for label in ["Nope", "AnyName", "Check"] {
        let label = format!(r#"method="{label}""#);
        assert!(
            !rpc_lines.iter().any(|line| line.contains(&label)),
            "{label} became a label"
        );
    }
}

#[tokio::test]
async fn a_call_cut_off_by_the_server_timeout_is_counted_deadline_exceeded() {
    let app = TestApp::spawn_with(&[
        ("METRICS_ADDR", "127.0.0.1:0"),
        ("REQUEST_TIMEOUT_SECONDS", "0.3"),
    ])
    .await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let before = scrape(metrics).await;

    // A request whose message never comes: the call waits for its body until the server's
    // deadline answers DEADLINE_EXCEEDED (and drops the call).
    let never = Request::new(futures::stream::pending::<RequestCodeRequest>());
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<RequestCodeRequest, LogoutAllResponse>::default();
    let path = PathAndQuery::from_static("/phoneauth.v1.AuthService/RequestCode");
    let status = grpc.client_streaming(never, path, codec).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    let after = scrape(metrics).await;
    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    let method = r#"method="RequestCode""#;
    assert!(moved(REQUESTS, &[method, r#"code="DEADLINE_EXCEEDED""#]) >= 1.0);
}
