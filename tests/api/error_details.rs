//! Reflection describes the error details our statuses carry, so that grpcurl and the GUI tools
//! decode google.rpc.BadRequest, ErrorInfo and RetryInfo instead of printing a base64 blob.
use prost::Message;
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;

use crate::helpers::{TestApp, reflected_files as files_for};

const DETAILS: [&str; 3] = [
    "google.rpc.BadRequest",
    "google.rpc.ErrorInfo",
    "google.rpc.RetryInfo",
];

#[tokio::test]
async fn reflection_serves_google_rpc_error_details_with_their_imports() {
    let app = TestApp::spawn().await;
    for symbol in DETAILS {
        let files = files_for(&app, MessageRequest::FileContainingSymbol(symbol.into())).await;
        assert_eq!(
            files[0].name(),
            "google/rpc/error_details.proto",
            "{symbol}"
        );
        let message = symbol.trim_start_matches("google.rpc.");
        assert!(
            files[0].message_type.iter().any(|m| m.name() == message),
            "{symbol}"
        );
        // RetryInfo's delay is a google.protobuf.Duration: the import is served too.
        let imports = &files[0].dependency;
        assert!(
            imports.contains(&"google/protobuf/duration.proto".to_owned()),
            "{imports:?}"
        );
        for import in &files[0].dependency {
            let files = files_for(&app, MessageRequest::FileByFilename(import.clone())).await;
            assert_eq!(files[0].name(), import);
        }
    }
    let files = files_for(
        &app,
        MessageRequest::FileContainingSymbol("google.rpc.Status".into()),
    )
    .await;
    assert_eq!(files[0].name(), "google/rpc/status.proto");
}

/// grpcurl ≤1.8 asks through v1alpha.
#[tokio::test]
async fn reflection_v1alpha_serves_them_too() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = TestApp::spawn().await;
    let requests = DETAILS.map(|symbol| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(symbol.into())),
    });
    let mut responses = ServerReflectionClient::new(app.channel().await)
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    for symbol in DETAILS {
        let Some(MessageResponse::FileDescriptorResponse(files)) =
            responses.next().await.unwrap().unwrap().message_response
        else {
            panic!("{symbol} is not described");
        };
        let file =
            prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
                .unwrap();
        assert_eq!(file.name(), "google/rpc/error_details.proto", "{symbol}");
    }
}
