//! RPC metrics as a tower layer: every call is counted by method and gRPC status, and timed.
//!
//! It sits outside the auth layer and the generated service, so it sees the calls that never
//! reach a handler too: rejected by a layer, undecodable, or for a method that does not exist.
//! The status is read where gRPC puts it: in the response headers of a trailers-only answer
//! (every error tonic sends for a unary call), otherwise in the trailers at the end of the body,
//! which for gRPC-Web is the body's last frame (`web_status.rs`: the layer sits outside
//! tonic-web, so that it sees the calls tonic-web itself refuses). An answer with no status at
//! all and an HTTP error status is counted as a gRPC client reads it.
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use http_body::{Body, Frame, SizeHint};
use prost::bytes::Buf;
use tonic::{Code, Status};
use tower::{Layer, Service};

use super::{deadline::CallArrived, web_status::WebStatus};
use crate::telemetry::{RPC_DURATION, RPC_REQUESTS};

/// Our service's path prefix; its methods are labelled by name.
const SERVICE_PREFIX: &str = "/phoneauth.v1.AuthService/";

/// The methods of AuthService, as the proto names them (a unit test holds this to the proto).
const METHODS: &[&str] = &[
    "RequestCode",
    "VerifyCode",
    "GetProfile",
    "SetInviter",
    "Logout",
    "LogoutAll",
    "ListUsers",
];

/// The methods of the services for other services (SessionService, Envoy's ext_authz), by
/// full path, with their labels (a unit test holds SessionService's to the proto).
const SERVICE_METHODS: &[(&str, &str)] = &[
    ("/phoneauth.v1.SessionService/Introspect", "Introspect"),
    (
        "/envoy.service.auth.v3.Authorization/Check",
        "ExtAuthzCheck",
    ),
];

/// The label of any path that is none of our methods: a client cannot mint label values.
const UNKNOWN_METHOD: &str = "unknown";

/// The method label of a request path, or `None` for the standard gRPC services (health,
/// reflection) that are infrastructure rather than our API and are not counted.
fn method_label(path: &str) -> Option<&'static str> {
    if let Some(name) = path.strip_prefix(SERVICE_PREFIX) {
        let known = METHODS.iter().find(|method| **method == name);
        return Some(known.copied().unwrap_or(UNKNOWN_METHOD));
    }
    if let Some((_, label)) = SERVICE_METHODS.iter().find(|(known, _)| *known == path) {
        return Some(label);
    }
    if path.starts_with("/grpc.") {
        return None;
    }
    Some(UNKNOWN_METHOD)
}

/// The label a request is counted under, or `None` when it is not counted. REST calls and pages
/// are not RPCs here: REST is counted under its RPC where it makes the call (`rest::service`),
/// and pages are not counted.
fn label_of<B>(request: &http::Request<B>) -> Option<&'static str> {
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
    grpc.then(|| method_label(request.uri().path())).flatten()
}

/// Adds [`MetricsMiddleware`] around the services.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsLayer;

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsMiddleware<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MetricsMiddleware { inner }
    }
}

/// Counts and times each call through `inner` (see the module docs for what it sees).
#[derive(Clone, Debug)]
pub struct MetricsMiddleware<S> {
    inner: S,
}

impl<S, B, ResBody> Service<http::Request<B>> for MetricsMiddleware<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<MeasuredBody<ResBody>>;
    type Error = S::Error;
    type Future = MeasuredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // Before tonic starts its `grpc-timeout` timer (see CallArrived).
        request
            .extensions_mut()
            .insert(CallArrived(tokio::time::Instant::now()));
        let measurement = label_of(&request).map(Measurement::start);
        MeasuredFuture {
            inner: self.inner.call(request),
            measurement,
        }
    }
}

/// One call being measured. It is recorded exactly once: with its status when that is known,
/// or as CANCELLED when it is dropped first — the server's timeout fired or the client went
/// away, and tonic answers (if anyone is left to answer) with CANCELLED.
struct Measurement {
    method: &'static str,
    started: Instant,
    recorded: bool,
}

impl Measurement {
    fn start(method: &'static str) -> Self {
        Self {
            method,
            started: Instant::now(),
            recorded: false,
        }
    }

    fn record(&mut self, code: Code) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let method = self.method;
        metrics::counter!(RPC_REQUESTS, "method" => method, "code" => code_name(code)).increment(1);
        metrics::histogram!(RPC_DURATION, "method" => method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Measurement {
    fn drop(&mut self) {
        self.record(Code::Cancelled);
    }
}

/// The status a `grpc-status` header or trailer carries, if there is one; a garbled value reads
/// as UNKNOWN, as a gRPC client would take it.
fn status_in(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get(Status::GRPC_STATUS)
        .map(|value| Code::from_bytes(value.as_bytes()))
}

pin_project_lite::pin_project! {
    /// The inner service's response future; records trailers-only answers when they arrive.
    pub struct MeasuredFuture<F> {
        #[pin]
        inner: F,
        measurement: Option<Measurement>,
    }
}

impl<F, ResBody, E> Future for MeasuredFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<MeasuredBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut measurement = this.measurement.take();
        Poll::Ready(match result {
            Ok(response) => {
                let headers = response.headers();
                let mut web = None;
                if let Some(measurement) = measurement.as_mut() {
                    if let Some(code) = status_in(headers) {
                        measurement.record(code);
                    } else if response.status() != http::StatusCode::OK {
                        measurement.record(code_of_http_status(response.status()));
                    } else {
                        web = WebStatus::for_content_type(headers.get(http::header::CONTENT_TYPE));
                    }
                }
                Ok(response.map(|inner| MeasuredBody {
                    inner,
                    measurement,
                    web,
                }))
            }
            Err(error) => {
                // tonic's routes never fail; a service that did would leave the status to
                // tonic's error recovery, which answers UNKNOWN for errors it does not know.
                if let Some(measurement) = measurement.as_mut() {
                    measurement.record(Code::Unknown);
                }
                Err(error)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// The response body; records the status from the trailers at its end.
    pub struct MeasuredBody<B> {
        #[pin]
        inner: B,
        measurement: Option<Measurement>,
        // Set for a gRPC-Web answer, whose trailers travel as the body's last frame.
        web: Option<WebStatus>,
    }
}

/// An empty body, for the answers CORS makes up (preflights) and never counts.
impl<B: Default> Default for MeasuredBody<B> {
    fn default() -> Self {
        Self {
            inner: B::default(),
            measurement: None,
            web: None,
        }
    }
}

impl<B: Body> Body for MeasuredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(measurement) = this.measurement.as_mut() {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        measurement.record(status_in(trailers).unwrap_or(Code::Unknown));
                    } else if let (Some(data), Some(web)) = (frame.data_ref(), this.web.as_mut())
                        // tonic's bodies carry `Bytes`: one chunk is the whole frame.
                        && let Some(code) = web.read(data.chunk())
                    {
                        measurement.record(code);
                    }
                }
                // hyper resets the stream, which a gRPC client reports as INTERNAL.
                Some(Err(_)) => measurement.record(Code::Internal),
                // A body that ends without a status reaches the client as UNKNOWN.
                None => measurement.record(Code::Unknown),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The status a gRPC client reports for an HTTP answer without one (gRPC's "HTTP to gRPC status
/// code mapping"): tonic-web's 400 and 405 for a request that is not gRPC-Web, say.
fn code_of_http_status(status: http::StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The canonical upper-snake name of a status code, as Prometheus users expect: the names of
/// the one table of gRPC codes (`rest/http_status.rs`, held to tonic's numbering by a test).
fn code_name(code: Code) -> &'static str {
    crate::rest::http_status::GRPC_CODES
        .get(code as usize)
        .map_or("UNKNOWN", |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn every_method_of_the_proto_has_its_own_label() {
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
        let service = set
            .file
            .iter()
            .flat_map(|file| &file.service)
            .find(|service| service.name() == "AuthService")
            .expect("AuthService is in the descriptor set");
        let mut in_proto: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
        let mut labelled = METHODS.to_vec();
        in_proto.sort_unstable();
        labelled.sort_unstable();
        assert_eq!(labelled, in_proto);
        for method in METHODS {
            assert_eq!(
                method_label(&format!("{SERVICE_PREFIX}{method}")),
                Some(*method)
            );
        }
    }

    #[test]
    fn every_method_of_session_service_has_its_own_label() {
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
        let service = set
            .file
            .iter()
            .flat_map(|file| &file.service)
            .find(|service| service.name() == "SessionService")
            .expect("SessionService is in the descriptor set");
        for method in &service.method {
            let path = format!("/phoneauth.v1.SessionService/{}", method.name());
            assert_eq!(method_label(&path), Some(method.name()), "{path}");
        }
        assert_eq!(
            method_label("/envoy.service.auth.v3.Authorization/Check"),
            Some("ExtAuthzCheck")
        );
    }

    #[test]
    fn only_grpc_and_grpc_web_requests_are_counted() {
        let request = |content_type: &str, path: &str| {
            http::Request::builder()
                .uri(path)
                .header(http::header::CONTENT_TYPE, content_type)
                .body(())
                .unwrap()
        };
        let verify = "/phoneauth.v1.AuthService/VerifyCode";
        assert_eq!(
            label_of(&request("application/grpc", verify)),
            Some("VerifyCode")
        );
        let web = request("application/grpc-web-text", verify);
        assert_eq!(label_of(&web), Some("VerifyCode"));
        assert_eq!(label_of(&request("application/json", "/users/auth/")), None);
        assert_eq!(label_of(&request("text/html", "/")), None);
        let unknown = request("application/grpc", "/made.up/Call");
        assert_eq!(label_of(&unknown), Some(UNKNOWN_METHOD));
    }

    #[test]
    fn other_paths_get_one_fixed_label_and_standard_services_none() {
        for path in [
            "/phoneauth.v1.AuthService/Nope",
            "/phoneauth.v1.AuthService/VerifyCode/extra",
            "/phoneauth.v1.AuthService/",
            "/phoneauth.v1.SessionService/Nope",
            "/envoy.service.auth.v3.Authorization/Check/extra",
            "/evil.Service/Method",
            "/",
        ] {
            assert_eq!(method_label(path), Some(UNKNOWN_METHOD), "{path}");
        }
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        ] {
            assert_eq!(method_label(path), None, "{path}");
        }
    }
}
