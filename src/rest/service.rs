//! The REST service: method and path to RPC, JSON to message, the call made in process through
//! the gRPC stack, and the answer back as JSON. It is the server's fallback: every path that no
//! gRPC service and no page claims comes here.
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Body;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prost::Message;
use prost_reflect::{DynamicMessage, Value};
use tonic::Status;
use tower::{Layer, Service, ServiceExt};

use super::{
    answer,
    grpc_call::{call, grpc_request},
    json_in,
    route_table::{Lookup, RestRpc, RouteTable},
    session_cookie,
};
use crate::{domain::SecretKey, grpc::MetricsLayer};

/// What the REST service needs besides the gRPC stack it calls.
pub struct RestSettings {
    pub max_request_bytes: usize,
    /// Reading the body counts against it too, so a trickled body cannot hold a call open.
    pub request_timeout: Duration,
    pub secret_key: SecretKey,
}

/// REST over `grpc` (the layered gRPC routes, without the metrics layer: REST calls are
/// counted under their RPC here).
#[derive(Clone)]
pub struct RestApi<S> {
    table: Arc<RouteTable>,
    settings: Arc<RestSettings>,
    grpc: S,
}

impl<S> RestApi<S> {
    pub fn new(grpc: S, settings: RestSettings) -> Self {
        Self {
            table: Arc::new(RouteTable::from_pool(super::descriptor_pool())),
            settings: Arc::new(settings),
            grpc,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> Service<Request<Body>> for RestApi<S>
where
    S: Service<Request<tonic::body::Body>, Response = Response<B>, Error = Infallible>,
    S: Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = prost::bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Each call takes a fresh clone of the gRPC stack, which `oneshot` drives to ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let this = self.clone();
        if is_grpc(&request) {
            // A gRPC or gRPC-Web call to a path no service has: the gRPC routes answer it
            // UNIMPLEMENTED, as a gRPC client expects (the outer metrics layer counted it).
            return Box::pin(async move {
                let request = request.map(tonic::body::Body::new);
                let Ok(response) = this.grpc.oneshot(request).await;
                Ok(response.map(Body::new))
            });
        }
        Box::pin(async move {
            let timeout = this.settings.request_timeout;
            Ok(tokio::time::timeout(timeout, this.answer(request))
                .await
                .unwrap_or_else(|_| answer::error(&deadline_exceeded(timeout))))
        })
    }
}

impl<S, B> RestApi<S>
where
    S: Service<Request<tonic::body::Body>, Response = Response<B>, Error = Infallible>,
    S: Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = prost::bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    async fn answer(self, request: Request<Body>) -> Response<Body> {
        let (mut parts, body) = request.into_parts();
        let rpc = match self.table.lookup(&parts.method, parts.uri.path()) {
            Lookup::Found(rpc) => rpc.clone(),
            Lookup::WrongMethod(allowed) => return method_not_allowed(&allowed),
            Lookup::NotFound => return not_found(parts.uri.path()),
        };
        let max = self.settings.max_request_bytes;
        let body = match Limited::new(body, max).collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => {
                return answer::error_with_http_status(
                    &crate::grpc::request_too_large(max),
                    StatusCode::PAYLOAD_TOO_LARGE,
                );
            }
            Err(_) => {
                return answer::error(&json_in::malformed("the body could not be read".into()));
            }
        };
        let request = match read_request(&rpc, &parts, &body) {
            Ok(request) => request,
            Err(refusal) => return *refusal,
        };
        // Only a call that needs a session reads the cookie: a stale one must not stand in the
        // way of logging in again.
        let by_cookie = match crate::grpc::requires_session(&rpc.grpc_path) {
            true => match session_cookie::authorize(&mut parts, &self.settings.secret_key) {
                Ok(by_cookie) => by_cookie,
                Err(status) => return answer::error(&status),
            },
            false => false,
        };
        let as_cookie = rpc.issues_session() && session_cookie::wants_cookie(&parts.headers);
        let call_request = grpc_request(parts, &rpc.grpc_path, &request.encode_to_vec());
        // Counted here, under the RPC's name: the outer metrics layer counts gRPC calls only.
        let grpc = MetricsLayer.layer(self.grpc);
        let reply = match call(grpc, call_request).await {
            Ok(reply) => reply,
            Err(status) => return answer::error(&status),
        };
        let Ok(mut reply) = DynamicMessage::decode(rpc.output.clone(), reply) else {
            tracing::error!(rpc = %rpc.grpc_path, "an answer did not decode as its own type");
            return answer::error(&Status::internal("internal error"));
        };
        let cookies = match (as_cookie, by_cookie && rpc.ends_session()) {
            (true, _) => take_session(&mut reply, &self.settings.secret_key),
            (false, true) => Some(session_cookie::clear()),
            (false, false) => None,
        };
        let mut response = answer::json(&reply);
        for cookie in cookies.into_iter().flatten() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// The request message from the body (`body: "*"`, JSON only) or from the query string.
fn read_request(
    rpc: &RestRpc,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<DynamicMessage, Box<Response<Body>>> {
    if !rpc.body {
        if !body.is_empty() {
            let status = json_in::malformed(format!(
                "{} takes its fields from the query string, not a body",
                parts.method
            ));
            return Err(Box::new(answer::error(&status)));
        }
        return json_in::from_query(&rpc.input, parts.uri.query().unwrap_or(""))
            .map_err(|status| Box::new(answer::error(&status)));
    }
    // JSON only: a cross-site HTML form cannot send application/json, and a script on another
    // site cannot without a CORS preflight this server does not grant.
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json && !body.is_empty() {
        let status = json_in::malformed("send the body as Content-Type: application/json".into());
        return Err(Box::new(answer::error_with_http_status(
            &status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )));
    }
    json_in::from_body(&rpc.input, body).map_err(|status| Box::new(answer::error(&status)))
}

/// Moves the new session token from the answer into cookies, for as long as the session lasts.
fn take_session(reply: &mut DynamicMessage, key: &SecretKey) -> Option<[HeaderValue; 2]> {
    let token = reply
        .get_field_by_name("session_token")?
        .as_str()?
        .to_owned();
    let expires = reply
        .get_field_by_name("session_expires_at")
        .and_then(|at| at.as_message()?.get_field_by_name("seconds")?.as_i64());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_secs());
    let max_age = expires.map_or(0, |at| u64::try_from(at).unwrap_or(0).saturating_sub(now));
    reply.set_field_by_name("session_token", Value::String(String::new()));
    session_cookie::issue(&token, key, max_age)
}

fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

fn not_found(path: &str) -> Response<Body> {
    let path: String = path.chars().take(200).collect();
    let status = Status::not_found(format!("no REST call at {path}; see /users/docs/"));
    answer::error(&status)
}

fn method_not_allowed(allowed: &[&str]) -> Response<Body> {
    let allow = allowed.join(", ");
    let status = Status::unimplemented(format!("this URL answers {allow}"));
    let mut response = answer::error_with_http_status(&status, StatusCode::METHOD_NOT_ALLOWED);
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_str(&allow).expect("method names are header text"),
    );
    response
}

fn deadline_exceeded(timeout: Duration) -> Status {
    crate::grpc::deadline_exceeded(timeout)
}
