//! REST answers: a message as proto3 JSON, or an error as the `google.rpc.Status` JSON shape
//! with its details decoded (`@type` plus fields), under the HTTP status of its gRPC code.
//!
//! Nothing gRPC leaks: no `grpc-status`, no base64 detail blob. A 429 carries `Retry-After`
//! from the RetryInfo detail and a 401 carries `WWW-Authenticate: Bearer`.
use axum::body::Body;
use http::{HeaderValue, StatusCode, header};
use prost::Message;
use prost_reflect::{DynamicMessage, SerializeOptions};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::{descriptor_pool, http_status::http_status_of};

/// The proto3 JSON mapping, with every field present: a REST client reads `"invitedBy": ""`
/// and `"referralCount": "0"` rather than having to know the defaults.
const JSON: SerializeOptions = super::json_out::OPTIONS;

/// 200 with `message` as JSON.
pub fn json(message: &DynamicMessage) -> http::Response<Body> {
    let mut out = serde_json::Serializer::new(Vec::with_capacity(1024));
    serde::Serialize::serialize(&super::json_out::Json(message), &mut out)
        .expect("a decoded message serializes to JSON");
    respond(StatusCode::OK, out.into_inner())
}

/// The HTTP status a gRPC code answers with (the table in `http_status.rs`, which the OpenAPI
/// document is written from too).
pub fn http_status(code: Code) -> StatusCode {
    StatusCode::from_u16(http_status_of(code as i32)).expect("the table holds valid statuses")
}

/// An error answer under the HTTP status of its code.
pub fn error(status: &Status) -> http::Response<Body> {
    error_with_http_status(status, http_status(status.code()))
}

/// An error answer under an HTTP status of its own (405, 413, 415: HTTP-level refusals that
/// have no gRPC code of their own).
pub fn error_with_http_status(status: &Status, http: StatusCode) -> http::Response<Body> {
    let mut response = respond(http, status_json(status));
    let headers = response.headers_mut();
    if status.code() == Code::Unauthenticated {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(delay) = status.get_details_retry_info().and_then(|r| r.retry_delay) {
        // Whole seconds, rounded up: retrying early would only be refused again.
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// `{"code", "message", "details": [...]}`: the google.rpc.Status our gRPC errors carry in
/// `grpc-status-details-bin`, decoded against the pool that holds error_details.proto; a status
/// without details gets one made from its code and message.
fn status_json(status: &Status) -> Vec<u8> {
    let status_type = descriptor_pool()
        .get_message_by_name("google.rpc.Status")
        .expect("build.rs puts google/rpc/status.proto in the descriptor set");
    let decoded = match status.details() {
        [] => None,
        bytes => DynamicMessage::decode(status_type.clone(), bytes).ok(),
    };
    let message = decoded.unwrap_or_else(|| {
        let plain = tonic_types::pb::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        };
        DynamicMessage::decode(status_type, plain.encode_to_vec().as_slice())
            .expect("a google.rpc.Status decodes as one")
    });
    let mut out = serde_json::Serializer::new(Vec::with_capacity(256));
    message
        .serialize_with_options(&mut out, &JSON)
        .expect("google.rpc.Status and our detail types serialize to JSON");
    out.into_inner()
}

fn respond(status: StatusCode, json: Vec<u8>) -> http::Response<Body> {
    let mut response = http::Response::new(Body::from(json));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Answers are about one user's session: never stored by a cache on the way.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic_types::ErrorDetails;

    use super::*;

    async fn body_json(response: http::Response<Body>) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn details_are_decoded_to_json_and_retry_info_becomes_retry_after() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("phone_number", "too short");
        details.set_retry_info(Some(Duration::from_millis(2_500)));
        let status = Status::with_error_details(Code::ResourceExhausted, "slow down", details);
        let response = error(&status);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert!(response.headers().get("grpc-status").is_none());
        let json = body_json(response).await;
        assert_eq!(json["code"], 8);
        assert_eq!(json["message"], "slow down");
        let details = json["details"].as_array().unwrap();
        let bad_request = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .unwrap();
        assert_eq!(bad_request["fieldViolations"][0]["field"], "phone_number");
        let retry = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
            .unwrap();
        assert_eq!(retry["retryDelay"], "2.500s");
    }

    #[tokio::test]
    async fn a_status_without_details_still_has_the_shape() {
        let response = error(&Status::unauthenticated("log in"));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let json = body_json(response).await;
        assert_eq!(json["code"], 16);
        assert_eq!(json["message"], "log in");
        assert_eq!(json["details"], serde_json::json!([]));
    }

    #[test]
    fn every_code_the_issue_names_has_its_http_status() {
        let pairs = [
            (Code::InvalidArgument, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::FailedPrecondition, 412),
            (Code::ResourceExhausted, 429),
            (Code::Unavailable, 503),
            (Code::Internal, 500),
        ];
        for (code, http) in pairs {
            assert_eq!(http_status(code).as_u16(), http, "{code:?}");
        }
    }

    #[test]
    fn the_shared_table_is_indexed_by_code_number() {
        for (number, (name, _)) in super::super::http_status::GRPC_CODES.iter().enumerate() {
            let code = Code::from(i32::try_from(number).unwrap());
            // `InvalidArgument` for `INVALID_ARGUMENT`.
            let debug = format!("{code:?}");
            assert!(
                name.replace('_', "").eq_ignore_ascii_case(&debug),
                "{name} at {number} is {debug}"
            );
        }
        assert_eq!(http_status_of(99), 500);
    }
}
