//! Deadlines answer DEADLINE_EXCEEDED, as the gRPC status-code guide says: the server's own
//! (REQUEST_TIMEOUT_SECONDS), a shorter one from the client (`grpc-timeout`), and a client's
//! deadline of zero, which is over before the handler could start.
use std::time::{Duration, Instant};

use http::uri::PathAndQuery;
use phone_auth::{
    grpc::ERROR_DOMAIN,
    proto::{LogoutAllResponse, RequestCodeRequest},
};
use prost::Message;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use super::raw_http2::RawHttp2;
use crate::{
    helpers::{TestApp, phone},
    observability::{sample, scrape},
};

const REQUEST_CODE: &str = "/phoneauth.v1.AuthService/RequestCode";

/// How many calls of `method` the server's metrics counted with `code` between two scrapes.
/// The counters are shared by every server in this test process, so a test counts calls of a
/// method and status that no other test makes.
fn counted(before: &str, after: &str, method: &str, code: &str) -> f64 {
    let labels = [format!(r#"method="{method}""#), format!(r#"code="{code}""#)];
    let labels = [labels[0].as_str(), labels[1].as_str()];
    let name = "phoneauth_rpc_requests_total";
    sample(after, name, &labels) - sample(before, name, &labels)
}

/// [`counted`] since `before`, scraped until the count shows or 5 s pass. The client can read
/// the end of a call and scrape before the server's task has counted it: on a loaded machine
/// (CI, 2026-12-08) a single scrape right after the answer once found nothing.
async fn counted_soon(
    metrics: std::net::SocketAddr,
    before: &str,
    method: &str,
    code: &str,
) -> f64 {
    let give_up = Instant::now() + Duration::from_secs(5);
    loop {
        let count = counted(before, &scrape(metrics).await, method, code);
        if count >= 1.0 || Instant::now() >= give_up {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_call_past_the_server_deadline_is_deadline_exceeded_with_its_reason() {
    let app = TestApp::spawn_with(&[("REQUEST_TIMEOUT_SECONDS", "0.3")]).await;
    // A request whose message never comes: only the deadline ends the call.
    let never = Request::new(futures::stream::pending::<RequestCodeRequest>());
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<RequestCodeRequest, LogoutAllResponse>::default();
    let started = Instant::now();
    let status = grpc
        .client_streaming(never, PathAndQuery::from_static(REQUEST_CODE), codec)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(
        status.message(),
        "the call did not finish within its deadline of 300 ms"
    );
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("DEADLINE_EXCEEDED", ERROR_DOMAIN)
    );
}

/// The client's `grpc-timeout` is shorter than the server's deadline, and wins. It is sent by
/// hand: tonic's client enforces the same header itself and would cancel the call first.
#[tokio::test]
async fn a_shorter_grpc_timeout_from_the_client_is_answered_deadline_exceeded() {
    let app = TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let before = scrape(metrics).await;

    let mut connection = RawHttp2::connect(app.addr).await;
    let started = Instant::now();
    // ListUsers waits for a body that never comes; the client gave it 200 ms.
    let path = "/phoneauth.v1.AuthService/ListUsers";
    connection
        .call(1, path, &[("grpc-timeout", "200m")], None)
        .await;
    let end = tokio::time::timeout(Duration::from_secs(5), connection.end_of(1))
        .await
        .expect("the call ends long before the server's own 10 s deadline")
        .expect("the connection stays open");
    assert_eq!(end.kind, 0x1, "the stream ends with a status, not a reset");
    assert!(started.elapsed() >= Duration::from_millis(150));

    assert!(counted_soon(metrics, &before, "ListUsers", "DEADLINE_EXCEEDED").await >= 1.0);
}

/// `grpc-timeout: 0n` means the deadline has passed when the call arrives: the call is answered
/// at once although it is complete and valid, and no code is sent (a second request for the
/// phone is not held back by the resend interval).
#[tokio::test]
async fn a_zero_grpc_timeout_is_deadline_exceeded_before_any_handler_runs() {
    let app = TestApp::spawn_with(&[
        ("METRICS_ADDR", "127.0.0.1:0"),
        ("RESEND_INTERVAL_SECONDS", "600"),
    ])
    .await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let before = scrape(metrics).await;

    let request = RequestCodeRequest {
        phone_number: phone(1),
    }
    .encode_to_vec();
    let mut connection = RawHttp2::connect(app.addr).await;
    connection
        .call(1, REQUEST_CODE, &[("grpc-timeout", "0n")], Some(&request))
        .await;
    let end = tokio::time::timeout(Duration::from_secs(5), connection.end_of(1))
        .await
        .expect("the call is answered at once")
        .expect("the connection stays open");
    assert_eq!(end.kind, 0x1, "the stream ends with a status, not a reset");

    assert!(counted_soon(metrics, &before, "RequestCode", "DEADLINE_EXCEEDED").await >= 1.0);
    app.request_code(&phone(1)).await;
}
