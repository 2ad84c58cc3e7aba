//! Health, reflection, limits and shutdown: the parts of the product around the RPCs.
mod connections;
mod deadlines;
mod http1;
mod malformed;
mod raw_http2;
mod shutdown;

use std::time::{Duration, Instant};

use phone_auth::proto::RequestCodeRequest;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate, matchers::method};

use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_the_auth_service_serving() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel().await);
    for service in ["", "phoneauth.v1.AuthService"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

/// A message over MAX_REQUEST_BYTES is refused RESOURCE_EXHAUSTED (the gRPC guide's code for
/// a size limit), in our words, and counted so.
#[tokio::test]
async fn an_oversized_request_is_resource_exhausted() {
    use tonic_types::StatusExt;
    let app = TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let before = crate::observability::scrape(metrics).await;
    let result = app
        .client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: "1".repeat(64 * 1024),
        })
        .await;
    let status = result.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        status.message(),
        "the request message is larger than 16384 bytes"
    );
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "REQUEST_TOO_LARGE");
    assert_eq!(info.metadata["limit_bytes"], "16384");
    let after = crate::observability::scrape(metrics).await;
    let labels = [r#"method="RequestCode""#, r#"code="RESOURCE_EXHAUSTED""#];
    let counted =
        |text: &str| crate::observability::sample(text, "phoneauth_rpc_requests_total", &labels);
    assert!(counted(&after) - counted(&before) >= 1.0);
}

#[tokio::test]
async fn reflection_v1_describes_the_service_with_its_comments() {
    use prost::Message;
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::spawn().await;
    let mut client = ServerReflectionClient::new(app.channel().await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "phoneauth.v1.AuthService".into(),
            )),
        },
    ];
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in ["phoneauth.v1.AuthService", "grpc.health.v1.Health"] {
        assert!(names.contains(&expected), "{names:?}");
    }

    let Some(MessageResponse::FileDescriptorResponse(files)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected file descriptors");
    };
    let file = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
        .find(|f| f.name() == "phoneauth/v1/auth.proto")
        .expect("auth.proto is served");
    let methods: Vec<_> = file.service[0].method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "RequestCode",
            "VerifyCode",
            "GetProfile",
            "SetInviter",
            "Logout",
            "LogoutAll",
            "ListUsers"
        ]
    );
    let comments: String = file
        .source_code_info
        .expect("comments are kept for reflection")
        .location
        .iter()
        .map(|l| l.leading_comments().to_owned())
        .collect();
    assert!(
        comments.contains("Sends a one-time verification code"),
        "{comments}"
    );
    assert!(comments.contains("The digits received by SMS"));
}

#[tokio::test]
async fn reflection_v1alpha_is_served_for_older_tools() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::spawn().await;
    let mut client = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "phoneauth.v1.AuthService")
    );
}

/// How long the fake SMS webhook holds each delivery.
const WEBHOOK_DELAY: Duration = Duration::from_secs(1);

/// A fake SMS webhook that answers each delivery after [`WEBHOOK_DELAY`] and reports when it
/// got it, so a test knows that a RequestCode is in flight inside the server, and that the call
/// cannot finish before that instant plus the delay.
struct SlowWebhook(mpsc::UnboundedSender<Instant>);

impl Respond for SlowWebhook {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let _ = self.0.send(Instant::now());
        ResponseTemplate::new(204).set_delay(WEBHOOK_DELAY)
    }
}

/// Shutdown with a RequestCode held at the SMS webhook: health turns NOT_SERVING on a channel
/// that is already open while the call is still running, the server does not stop before the
/// call is answered (the process would exit and cut it), the call succeeds, and then the port
/// is closed.
#[tokio::test]
async fn graceful_shutdown_finishes_and_the_port_closes() {
    let (arrived, mut deliveries) = mpsc::unbounded_channel();
    let webhook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(SlowWebhook(arrived))
        .mount(&webhook)
        .await;
    let url = format!("{}/hooks/sms", webhook.uri());
    let mut app = TestApp::spawn_with(&[
        ("SMS_PROVIDER", "webhook"),
        ("SMS_WEBHOOK_URL", &url),
        (
            "SMS_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ])
    .await;
    let addr = app.addr;
    // Watch, not Check: once draining, the server takes no new calls even on an open
    // connection, but a stream opened before goes on reporting.
    let mut health = HealthClient::new(app.channel().await)
        .watch(HealthCheckRequest {
            service: "phoneauth.v1.AuthService".into(),
        })
        .await
        .expect("Watch starts")
        .into_inner();
    let mut next_status = async || {
        let message = tokio::time::timeout(Duration::from_secs(5), health.message())
            .await
            .expect("health reports within 5 s")
            .expect("the Watch stream stays open while draining")
            .expect("a health status");
        message.status()
    };
    assert_eq!(next_status().await, ServingStatus::Serving);

    let mut client = app.client.clone();
    let in_flight = tokio::spawn(async move {
        client
            .request_code(RequestCodeRequest {
                phone_number: "+79123456789".into(),
            })
            .await
    });
    let delivered_at = deliveries
        .recv()
        .await
        .expect("the code reaches the webhook");

    app.begin_shutdown();
    assert_eq!(next_status().await, ServingStatus::NotServing);
    assert!(
        !in_flight.is_finished(),
        "NOT_SERVING is reported while the call is still in flight"
    );
    // The open Watch would be a call in flight that holds the drain; it ends after NOT_SERVING.
    let end = tokio::time::timeout(Duration::from_secs(5), health.message()).await;
    assert!(
        matches!(end, Ok(Ok(None))),
        "the Watch ends with OK: {end:?}"
    );
    app.stop().await;
    assert!(
        delivered_at.elapsed() >= WEBHOOK_DELAY,
        "the server stopped {:?} after the delivery, before the webhook answered it",
        delivered_at.elapsed()
    );
    let response = in_flight
        .await
        .expect("the call's task")
        .expect("the call in flight completes during the drain");
    assert_eq!(response.into_inner().phone_number, "+79123456789");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port {addr} still accepts connections"
    );
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_database() {
    let app = TestApp::spawn().await;
    let user = app.login("+79123456789").await;
    let backing = app.backing.clone();
    app.stop().await;
    let restarted = TestApp::spawn_on(backing, &[]).await;
    let again = restarted.login("+79123456789").await;
    assert_eq!(again.profile.user_id, user.profile.user_id);
    assert_eq!(again.profile.invite_code, user.profile.invite_code);
}
