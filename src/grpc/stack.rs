//! The tower stack around the gRPC services, from the outside in:
//!
//! 1. CORS, only when CORS_ALLOWED_ORIGINS names origins (server-wide): it answers browsers'
//!    preflights itself, so they are neither counted nor served as calls.
//! 2. [`MetricsLayer`] (server-wide), so that every call is counted, gRPC-Web ones included and
//!    calls to paths no service has.
//! 3. Per service, [`ServiceLayers`]: tonic-web, which turns a gRPC-Web call (binary or text,
//!    over HTTP/1.1 or h2) into a native one and its answer back, then the deadline, tonic's
//!    framing errors in our words (the size limit among them) and the authentication. So both protocols meet the same deadline, limits and
//!    bearer-token check, and the answers those layers make up reach a browser as gRPC-Web.
//!
//! tonic-web wraps each gRPC service rather than the server: it answers 400 to any HTTP/1.1
//! request that is not gRPC-Web, which would shut out the REST routes and pages to come.
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tonic_web::GrpcWebLayer;
use tower::{
    ServiceBuilder,
    layer::util::{Identity, Stack},
};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::{AuthLayer, DeadlineLayer, TransportErrorsLayer};
use crate::auth::Auth;

/// The layers each gRPC service is wrapped in (see the module docs), outermost first.
pub type ServiceLayers = ServiceBuilder<
    Stack<
        AuthLayer,
        Stack<TransportErrorsLayer, Stack<DeadlineLayer, Stack<GrpcWebLayer, Identity>>>,
    >,
>;

/// The per-service layers for a server with this deadline and request size limit.
pub fn service_layers(
    auth: Auth,
    request_timeout: Duration,
    max_request_bytes: usize,
) -> ServiceLayers {
    ServiceBuilder::new()
        .layer(GrpcWebLayer::new())
        .layer(DeadlineLayer::new(request_timeout))
        .layer(TransportErrorsLayer::new(max_request_bytes))
        .layer(AuthLayer::new(auth))
}

/// Request headers a gRPC-Web client sends beyond the CORS-safelisted ones.
const GRPC_WEB_REQUEST_HEADERS: [&str; 5] = [
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "authorization",
];

/// Response headers a gRPC-Web client must read: a trailers-only answer (every error) carries
/// its status, message and details in them.
const GRPC_WEB_RESPONSE_HEADERS: [&str; 3] =
    ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// How long a browser may cache a preflight's answer (Chromium caps it at 2 hours).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// CORS for exactly `origins`, or `None` (no CORS headers at all) when there are none.
///
/// Without CORS a page on another origin cannot call: a gRPC-Web content type is not one a
/// browser sends across origins without a preflight. Credentials (cookies) are not allowed;
/// the session token travels in `authorization`, which a page sets itself.
pub fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins = origins.iter().map(|origin| {
        HeaderValue::from_str(origin).expect("CORS_ALLOWED_ORIGINS was checked at start")
    });
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            // POST for gRPC-Web and REST calls, GET and PATCH for REST (GetProfile, ListUsers;
            // SetInviter's PATCH binding).
            .allow_methods([Method::GET, Method::POST, Method::PATCH])
            .allow_headers(GRPC_WEB_REQUEST_HEADERS.map(HeaderName::from_static))
            .expose_headers(GRPC_WEB_RESPONSE_HEADERS.map(HeaderName::from_static))
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

#[cfg(test)]
mod tests {
    use http::header;

    use super::*;

    #[test]
    fn no_origins_means_no_cors_layer() {
        assert!(cors_layer(&[]).is_none());
        assert!(cors_layer(&["https://app.example.com".into()]).is_some());
    }

    #[test]
    fn the_exposed_headers_are_the_ones_grpc_web_answers_in() {
        assert!(GRPC_WEB_REQUEST_HEADERS.contains(&header::AUTHORIZATION.as_str()));
        assert!(GRPC_WEB_REQUEST_HEADERS.contains(&header::CONTENT_TYPE.as_str()));
        assert!(GRPC_WEB_RESPONSE_HEADERS.contains(&tonic::Status::GRPC_STATUS.as_str()));
    }
}
