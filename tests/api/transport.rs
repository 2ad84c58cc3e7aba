//! Health, reflection, limits and shutdown: the parts of the product around the RPCs.
use phone_auth::proto::RequestCodeRequest;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

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

#[tokio::test]
async fn oversized_requests_are_refused() {
    let app = TestApp::spawn().await;
    let result = app
        .client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: "1".repeat(64 * 1024),
        })
        .await;
    let status = result.unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "unexpected status {status:?}"
    );
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

#[tokio::test]
async fn graceful_shutdown_finishes_and_the_port_closes() {
    let app = TestApp::spawn().await;
    let addr = app.addr;
    app.login("+79123456789").await;
    app.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port {addr} still accepts connections"
    );
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_database() {
    let app = TestApp::spawn().await;
    let user = app.login("+79123456789").await;
    let restarted = TestApp::spawn_on(app.backing.clone(), &[]).await;
    let again = restarted.login("+79123456789").await;
    assert_eq!(again.profile.user_id, user.profile.user_id);
    assert_eq!(again.profile.invite_code, user.profile.invite_code);
}
