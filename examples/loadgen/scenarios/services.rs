//! The calls other services make with a user's session token (issue #14): a backend's
//! SessionService/Introspect and an Envoy's ext_authz Check, each authenticated with the
//! loadgen's service credential ([`SERVICE_TOKEN`]), as deploy/envoy-ext-authz.yaml does.
//! The requests are built once per session, so the load generator's core spends its time on
//! the calls, not on formatting them.
use std::sync::Arc;

use envoy_types::pb::envoy::service::auth::v3::{
    AttributeContext, CheckRequest, attribute_context::HttpRequest,
    attribute_context::Request as Attributes, authorization_client::AuthorizationClient,
    check_response::HttpResponse,
};
use phone_auth::proto::{IntrospectRequest, session_service_client::SessionServiceClient};
use tonic::{Request, metadata::MetadataValue};

use super::{Bearer, expect, mix};
use crate::{
    engine::{Op, op},
    server::SERVICE_TOKEN,
};

/// SessionService/Introspect of `sessions` round robin; fails unless the session is active.
pub fn introspect(sessions: Arc<Vec<Bearer>>) -> Op {
    let requests: Arc<Vec<IntrospectRequest>> = Arc::new(
        sessions
            .iter()
            .map(|bearer| IntrospectRequest {
                session_token: session_token(bearer).into(),
            })
            .collect(),
    );
    op(move |channel, i| {
        let request = as_service(requests[i as usize % requests.len()].clone());
        async move {
            let answer = SessionServiceClient::new(channel)
                .introspect(request)
                .await?
                .into_inner();
            expect(answer.active && answer.user_id > 0, "session not active")
        }
    })
}

/// ext_authz Check of an HTTP request carrying `sessions` round robin; fails unless Check
/// allows it (an OK response, which carries the identity headers).
pub fn ext_authz_check(sessions: Arc<Vec<Bearer>>) -> Op {
    let requests: Arc<Vec<CheckRequest>> = Arc::new(
        sessions
            .iter()
            .enumerate()
            .map(|(n, bearer)| envoy_check_request(n as u64, bearer))
            .collect(),
    );
    op(move |channel, i| {
        let request = as_service(requests[i as usize % requests.len()].clone());
        async move {
            let answer = AuthorizationClient::new(channel)
                .check(request)
                .await?
                .into_inner();
            expect(
                matches!(answer.http_response, Some(HttpResponse::OkResponse(_))),
                "request not allowed",
            )
        }
    })
}

/// What the Envoy of deploy/envoy-ext-authz.yaml sends for `GET /orders/<n>`: the request
/// line's fields, and (its `allowed_headers` being `authorization` alone) the pseudo-headers
/// Envoy always adds and the `authorization` header.
fn envoy_check_request(n: u64, bearer: &Bearer) -> CheckRequest {
    let authorization = bearer.to_str().expect("tokens are ascii");
    let path = format!("/orders/{n}");
    let headers = [
        (":authority", "api.example.com"),
        (":method", "GET"),
        (":path", path.as_str()),
        ("authorization", authorization),
    ];
    let http = HttpRequest {
        id: format!("{:016x}", mix(n)),
        method: "GET".into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        path: path.clone(),
        host: "api.example.com".into(),
        scheme: "https".into(),
        protocol: "HTTP/2".into(),
        ..Default::default()
    };
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Attributes {
                http: Some(http),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// `message` with the loadgen's service credential in `x-service-token`.
fn as_service<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("x-service-token", MetadataValue::from_static(SERVICE_TOKEN));
    request
}

/// The session token inside `Bearer <token>`.
fn session_token(bearer: &Bearer) -> &str {
    let value = bearer.to_str().expect("tokens are ascii");
    value.strip_prefix("Bearer ").unwrap_or(value)
}
