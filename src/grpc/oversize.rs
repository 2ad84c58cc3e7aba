//! A request message over MAX_REQUEST_BYTES answered RESOURCE_EXHAUSTED, as the gRPC status-code
//! guide says, instead of tonic's OUT_OF_RANGE.
//!
//! tonic enforces the limit where it should: in its framing decoder, from the length prefix,
//! before it buffers the message. But it offers no hook there. The codec only sees messages
//! that fit. So this layer rewrites the answer. It is keyed on the exact status: OUT_OF_RANGE
//! on an AuthService path. AuthService never answers OUT_OF_RANGE itself (no `AuthError` maps
//! to it), so there that status can only be tonic's size limit. The answer is trailers-only,
//! in the response headers, as every status before the first message is.
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use tonic::{Code, Status, server::NamedService};
use tower::{Layer, Service};

use crate::{grpc::AuthApi, proto::auth_service_server::AuthServiceServer};

/// Adds [`OversizeMiddleware`] for AuthService's `limit` (MAX_REQUEST_BYTES).
#[derive(Clone, Copy, Debug)]
pub struct OversizeLayer {
    limit: usize,
}

impl OversizeLayer {
    pub fn new(limit: usize) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for OversizeLayer {
    type Service = OversizeMiddleware<S>;
    fn layer(&self, inner: S) -> Self::Service {
        OversizeMiddleware {
            inner,
            limit: self.limit,
        }
    }
}

/// Rewrites tonic's size-limit answer for AuthService calls (see the module docs).
#[derive(Clone, Debug)]
pub struct OversizeMiddleware<S> {
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

impl<S, B, ResBody> Service<http::Request<B>> for OversizeMiddleware<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = OversizeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let limit = is_auth_service(request.uri().path()).then_some(self.limit);
        OversizeFuture {
            inner: self.inner.call(request),
            limit,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner call's future; its answer is rewritten when it is the size limit's.
    pub struct OversizeFuture<F> {
        #[pin]
        inner: F,
        limit: Option<usize>,
    }
}

impl<F, ResBody, E> Future for OversizeFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let too_large = this.limit.filter(|_| {
            response
                .headers()
                .get(Status::GRPC_STATUS)
                .is_some_and(|code| Code::from_bytes(code.as_bytes()) == Code::OutOfRange)
        });
        Poll::Ready(Ok(match too_large {
            Some(limit) => super::status::request_too_large(limit).into_http(),
            None => response,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_auth_service_methods_are_rewritten() {
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
}
