//! GetProfile as a browser or curl makes it (issue #12): REST/JSON (`GET /users/profile/`) and
//! gRPC-Web (binary), both over HTTP/1.1 as a browser speaks to a plain-HTTP server, on the same
//! server and sessions as the native row. HTTP/1.1 carries one call at a time per connection,
//! so the client's pool opens as many connections as calls are in flight, up to
//! [`CONNECTIONS`] (the number of calls the native row keeps in flight over its HTTP/2
//! streams). Past that a call waits for a connection, and the wait counts in its latency: as a
//! browser's per-host connection limit would make it wait. Without the cap the open-loop
//! half-peak run opened a connection per scheduled call and ran into connect errors.
use std::{net::SocketAddr, sync::Arc};

use tokio::sync::Semaphore;

use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use phone_auth::proto::{GetProfileRequest, auth_service_client::AuthServiceClient};
use tonic::{Status, body::Body, codegen::Bytes};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};

use super::{Bearer, authed, expect};
use crate::engine::{Op, op};

/// HTTP/1.1 connections at most: 8 connections × 32 streams, as the native rows.
const CONNECTIONS: usize = 256;

/// GET /users/profile/ with the bearer token, round robin over `tokens`; fails unless the
/// answer is 200 and shows `referrals` in all.
pub fn rest_get_profile(addr: SocketAddr, tokens: Arc<Vec<Bearer>>, referrals: u64) -> Op {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let uri: Uri = format!("http://{addr}/users/profile/")
        .parse()
        .expect("a URI");
    // The count is a JSON string (uint64 in the proto3 mapping): a substring check is enough
    // and keeps the load generator's core off JSON parsing.
    let count = Arc::new(format!("\"referralCount\":\"{referrals}\""));
    let headers: Arc<Vec<HeaderValue>> = Arc::new(
        tokens
            .iter()
            .map(|bearer| HeaderValue::from_str(bearer.to_str().expect("ascii")).expect("a header"))
            .collect(),
    );
    let connections = Arc::new(Semaphore::new(CONNECTIONS));
    op(move |_, i| {
        let request = Request::get(uri.clone())
            .header(
                header::AUTHORIZATION,
                headers[i as usize % headers.len()].clone(),
            )
            .body(Empty::new())
            .expect("a request");
        let client = client.clone();
        let count = count.clone();
        let connections = connections.clone();
        async move {
            let _connection = connections.acquire().await.expect("never closed");
            let response = client
                .request(request)
                .await
                .map_err(|error| Status::unavailable(error.to_string()))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| Status::unavailable(error.to_string()))?
                .to_bytes();
            expect(status == StatusCode::OK, "REST answered an error")?;
            let body = std::str::from_utf8(&body).unwrap_or_default();
            expect(body.contains(count.as_str()), "wrong referral count")
        }
    })
}

type WebClient = AuthServiceClient<GrpcWebClientService<Client<HttpConnector, GrpcWebCall<Body>>>>;

/// GetProfile over gRPC-Web (binary), round robin over `tokens`; fails unless the profile has
/// `referrals` in total.
pub fn grpc_web_get_profile(addr: SocketAddr, tokens: Arc<Vec<Bearer>>, referrals: u64) -> Op {
    let http: Client<HttpConnector, GrpcWebCall<Body>> =
        Client::builder(TokioExecutor::new()).build_http();
    let service = tower::ServiceBuilder::new()
        .layer(GrpcWebClientLayer::new())
        .service(http);
    let origin: Uri = format!("http://{addr}").parse().expect("an origin");
    let client: WebClient = AuthServiceClient::with_origin(service, origin);
    let connections = Arc::new(Semaphore::new(CONNECTIONS));
    op(move |_, i| {
        let request = authed(
            &tokens[i as usize % tokens.len()],
            GetProfileRequest::default(),
        );
        let mut client = client.clone();
        let connections = connections.clone();
        async move {
            let _connection = connections.acquire().await.expect("never closed");
            let profile = client.get_profile(request).await?.into_inner();
            expect(profile.referral_count == referrals, "wrong referral count")
        }
    })
}
