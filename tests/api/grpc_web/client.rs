//! A gRPC-Web client over HTTP/1.1, as a browser would call: the generated tonic client over
//! tonic-web's `GrpcWebClientLayer` and hyper's HTTP/1.1-only client, in binary or in text mode.
//!
//! `GrpcWebClientLayer` speaks binary only; for text, [`TextMode`] sits under it and base64s the
//! request body and decodes the answer, asserting on the way that the server answered in text.
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use http::{HeaderValue, Request, Response, Version, header};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use phone_auth::proto::auth_service_client::AuthServiceClient;
use tonic::{body::Body, codegen::Bytes};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer};
use tower::{BoxError, Service, ServiceBuilder, ServiceExt, util::BoxCloneService};

/// The two encodings of gRPC-Web.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `application/grpc-web+proto`: the gRPC framing as it is.
    Binary,
    /// `application/grpc-web-text`: the same bytes in base64, as older browser clients send.
    Text,
}

pub const MODES: [Mode; 2] = [Mode::Binary, Mode::Text];

pub type Transport = BoxCloneService<Request<Body>, Response<Body>, BoxError>;

/// The typed client, over gRPC-Web in `mode`, to the server at `addr`.
pub fn web_client(addr: std::net::SocketAddr, mode: Mode) -> AuthServiceClient<Transport> {
    let origin = format!("http://{addr}").parse().expect("an origin");
    AuthServiceClient::with_origin(transport(mode), origin)
}

fn transport(mode: Mode) -> Transport {
    let web = ServiceBuilder::new().layer(GrpcWebClientLayer::new());
    match mode {
        Mode::Binary => web
            .service(http1_client())
            .map_response(|response| {
                assert_eq!(response.version(), Version::HTTP_11);
                response.map(Body::new)
            })
            .map_err(BoxError::from)
            .boxed_clone(),
        Mode::Text => {
            let text = web.service(TextMode {
                http: http1_client(),
            });
            ServiceExt::<Request<Body>>::map_response(
                text,
                |response: Response<GrpcWebCall<Full<Bytes>>>| response.map(Body::new),
            )
            .boxed_clone()
        }
    }
}

/// hyper's client, HTTP/1.1 only (no h2 upgrade, no prior knowledge).
pub fn http1_client<B>() -> Client<HttpConnector, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    Client::builder(TokioExecutor::new()).build_http()
}

/// Re-encodes a binary gRPC-Web call as `application/grpc-web-text` and its answer back.
#[derive(Clone)]
struct TextMode {
    http: Client<HttpConnector, Full<Bytes>>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<B> Service<Request<B>> for TextMode
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = BoxError;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let binary = body.collect().await.map_err(Into::into)?.to_bytes();
            let text = HeaderValue::from_static("application/grpc-web-text");
            parts.headers.insert(header::CONTENT_TYPE, text.clone());
            parts.headers.insert(header::ACCEPT, text);
            parts
                .headers
                .insert("x-grpc-web", HeaderValue::from_static("1"));
            let body = Full::new(Bytes::from(STANDARD.encode(binary)));
            let response = http.request(Request::from_parts(parts, body)).await?;
            assert_eq!(response.version(), Version::HTTP_11);
            let (mut parts, body) = response.into_parts();
            let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
            let text = body.collect().await?.to_bytes();
            // A trailers-only answer has no body, and its status is in the headers.
            if !text.is_empty() {
                assert_eq!(
                    content_type,
                    Some(HeaderValue::from_static("application/grpc-web-text+proto")),
                    "the server answers text in text"
                );
            }
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc-web+proto"),
            );
            Ok(Response::from_parts(parts, Full::new(decode(&text)?)))
        })
    }
}

/// Decodes a text-mode body: padded base64 chunks one after another, one per frame.
fn decode(text: &[u8]) -> Result<Bytes, BoxError> {
    let mut binary = Vec::new();
    let mut start = 0;
    for end in (4..=text.len()).step_by(4) {
        if text[end - 1] == b'=' || end == text.len() {
            binary.extend(STANDARD.decode(&text[start..end])?);
            start = end;
        }
    }
    if start != text.len() {
        return Err("a text-mode body that is not whole base64 groups".into());
    }
    Ok(binary.into())
}
