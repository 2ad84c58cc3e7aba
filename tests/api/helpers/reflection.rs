//! Reflection as grpcurl and the GUI tools use it: ask, read the file descriptors back.
use prost::Message;
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use super::TestApp;

/// The files reflection v1 answers for `request`: the one asked for (a client then asks for
/// each of its imports by name).
pub async fn reflected_files(
    app: &TestApp,
    request: MessageRequest,
) -> Vec<prost_types::FileDescriptorProto> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = ServerReflectionClient::new(app.channel().await)
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    match responses.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => files
            .file_descriptor_proto
            .iter()
            .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
            .collect(),
        other => panic!("{other:?}"),
    }
}
