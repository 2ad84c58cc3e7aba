//! The calls tonic refuses inside its own framing, answered in our words with the usual
//! details, per the gRPC status-code guide:
//! - a request message over MAX_REQUEST_BYTES: RESOURCE_EXHAUSTED (tonic: OUT_OF_RANGE);
//! - a compressed-flag with no `grpc-encoding`, a flag byte that is neither 0 nor 1, a call
//!   with no message, a message cut short, and bytes that are not protobuf on health and
//!   reflection (whose codec is tonic-prost's, not ours): INVALID_ARGUMENT (tonic: INTERNAL,
//!   which tells clients and alerts that the server is broken when it is the client that is);
//! - an unsupported `grpc-encoding`: still UNIMPLEMENTED, as the gRPC spec says, but without
//!   echoing the client's header back.
//!
//! A second message on a unary call, which tonic would read and drop, is refused on the way in
//! by [`OneMessage`].
//!
//! Why a response layer: tonic enforces all of this where it should, in its framing decoder,
//! before any codec or handler runs, and it offers no hook there. So the answer is rewritten
//! on its way out. Only a status tonic made is: matched on its exact code and message prefix,
//! and without `grpc-status-details-bin`, which every status of ours carries (an ErrorInfo at
//! least). The gRPC compression spec asks for INTERNAL on a compressed-flag without an
//! encoding; we answer INVALID_ARGUMENT because issue #11 keeps every client mistake out of
//! INTERNAL. The framing rewrites apply on every path, since health and reflection are served
//! publicly too; the size limit only on AuthService's, where MAX_REQUEST_BYTES is the limit.
//! Each of these answers is trailers-only (in the response headers), as every status sent
//! before a first message is.
mod one_message;

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use tonic::{Code, Status, body::Body, server::NamedService};
use tower::{Layer, Service};

use self::one_message::OneMessage;
use super::status;
use crate::{grpc::AuthApi, proto::auth_service_server::AuthServiceServer};

/// tonic's framing errors, by code and message prefix, and what each becomes: INVALID_ARGUMENT
/// in these words, or (`None`) UNIMPLEMENTED for an encoding we do not accept.
const REWRITES: &[(Code, &str, Option<&str>)] = &[
    (
        Code::Internal,
        "protocol error: received message with compressed-flag but no grpc-encoding",
        Some(status::COMPRESSED_WITHOUT_ENCODING),
    ),
    (
        Code::Internal,
        "protocol error: received message with invalid compression flag",
        Some(status::INVALID_COMPRESSED_FLAG),
    ),
    (
        Code::Internal,
        "Missing request message.",
        Some(status::NO_MESSAGE),
    ),
    (
        Code::Internal,
        "Unexpected EOF decoding stream.",
        Some(status::CUT_SHORT),
    ),
    // tonic-prost's codec, which health and reflection use (AuthService has ours, codec.rs).
    (
        Code::Internal,
        "failed to decode Protobuf message",
        Some(status::NOT_PROTOBUF),
    ),
    (Code::Unimplemented, "Content is compressed with `", None),
];

/// The encodings a server accepts, which tonic names beside its UNIMPLEMENTED.
const ACCEPT_ENCODING: &str = "grpc-accept-encoding";

/// Where a status's details go; every status of ours has some.
const DETAILS: &str = "grpc-status-details-bin";

/// tonic's answer to a message over the size limit.
const TOO_LARGE: &str = "Error, decoded message length too large";

/// Adds [`TransportErrorsMiddleware`]; `limit` is AuthService's MAX_REQUEST_BYTES.
#[derive(Clone, Copy, Debug)]
pub struct TransportErrorsLayer {
    limit: usize,
}

impl TransportErrorsLayer {
    pub fn new(limit: usize) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for TransportErrorsLayer {
    type Service = TransportErrorsMiddleware<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TransportErrorsMiddleware {
            inner,
            limit: self.limit,
        }
    }
}

/// Holds AuthService calls to one request message, and rewrites tonic's framing errors (see
/// the module docs).
#[derive(Clone, Debug)]
pub struct TransportErrorsMiddleware<S> {
    inner: S,
    limit: usize,
}

/// True for a path of one of AuthService's methods.
fn is_auth_service(path: &str) -> bool {
    let service = <AuthServiceServer<AuthApi> as NamedService>::NAME;
    path.strip_prefix('/')
        .and_then(|path| path.strip_prefix(service))
        .is_some_and(|method| method.starts_with('/'))
}

impl<S, ResBody> Service<http::Request<Body>> for TransportErrorsMiddleware<S>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TransportErrorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let auth_service = is_auth_service(request.uri().path());
        // Every AuthService method is unary (a unit test holds the proto to that).
        let request = match auth_service {
            true => request.map(|body| Body::new(OneMessage::new(body))),
            false => request,
        };
        TransportErrorsFuture {
            inner: self.inner.call(request),
            limit: auth_service.then_some(self.limit),
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner call's future; its answer is rewritten when it is one of tonic's.
    pub struct TransportErrorsFuture<F> {
        #[pin]
        inner: F,
        // AuthService's size limit, on AuthService paths only.
        limit: Option<usize>,
    }
}

impl<F, ResBody, E> Future for TransportErrorsFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(match rewrite(&response, *this.limit) {
            Some(status) => {
                let mut rewritten = status.into_http();
                // UNIMPLEMENTED for an encoding keeps tonic's list of the ones it accepts.
                if let Some(accepted) = response.headers().get(ACCEPT_ENCODING) {
                    let accepted = accepted.clone();
                    rewritten.headers_mut().insert(ACCEPT_ENCODING, accepted);
                }
                rewritten
            }
            None => response,
        }))
    }
}

/// Our status for a trailers-only answer that tonic's framing made, if `response` is one.
fn rewrite<B>(response: &http::Response<B>, limit: Option<usize>) -> Option<Status> {
    let headers = response.headers();
    let code = Code::from_bytes(headers.get(Status::GRPC_STATUS)?.as_bytes());
    let rewritten = [Code::Internal, Code::Unimplemented, Code::OutOfRange];
    if !rewritten.contains(&code) || headers.contains_key(DETAILS) {
        return None;
    }
    let tonic = Status::from_header_map(headers)?;
    let is = |code, prefix: &str| tonic.code() == code && tonic.message().starts_with(prefix);
    if let Some(limit) = limit.filter(|_| is(Code::OutOfRange, TOO_LARGE)) {
        return Some(status::request_too_large(limit));
    }
    let (_, _, words) = REWRITES
        .iter()
        .find(|(code, prefix, _)| is(*code, prefix))?;
    Some(match words {
        Some(words) => status::malformed_call(words),
        None => status::unsupported_encoding(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_auth_service_methods_are_auth_service() {
        assert!(is_auth_service("/phoneauth.v1.AuthService/RequestCode"));
        for path in [
            "/grpc.health.v1.Health/Check",
            "/phoneauth.v1.AuthServiceX/RequestCode",
            "/phoneauth.v1.AuthService",
            "phoneauth.v1.AuthService/RequestCode",
        ] {
            assert!(!is_auth_service(path), "{path}");
        }
    }

    #[test]
    fn every_auth_service_method_is_unary() {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
        let methods = set.file.iter().flat_map(|file| &file.service);
        let methods = methods.filter(|service| service.name() == "AuthService");
        for method in methods.flat_map(|service| &service.method) {
            assert!(
                !method.client_streaming() && !method.server_streaming(),
                "{method:?}"
            );
        }
    }

    fn answer(status: Status) -> http::Response<()> {
        status.into_http()
    }

    #[test]
    fn tonic_framing_errors_are_rewritten_and_ours_are_not() {
        let tonic = Status::internal("Missing request message.");
        let ours = rewrite(&answer(tonic), None).expect("rewritten");
        assert_eq!(ours.code(), Code::InvalidArgument);
        // A status with details is ours, whatever its words.
        let ours = status::malformed_call("Missing request message.");
        let ours = Status::with_details(
            Code::Internal,
            ours.message(),
            ours.details().to_vec().into(),
        );
        assert!(rewrite(&answer(ours), Some(1024)).is_none());
        let too_large = Status::out_of_range(format!("{TOO_LARGE}: found 2000 bytes"));
        assert!(rewrite(&answer(too_large.clone()), None).is_none());
        let ours = rewrite(&answer(too_large), Some(1024)).expect("on AuthService");
        assert_eq!(ours.code(), Code::ResourceExhausted);
        assert!(rewrite(&answer(Status::internal("database is down")), Some(1024)).is_none());
    }
}
