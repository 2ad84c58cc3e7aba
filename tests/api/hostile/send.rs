//! Sends a generated call byte for byte over a tonic `Channel` (the raw HTTP/2 service under
//! tonic's generated clients, so no codec adds or checks anything), and reads what came back.
use std::{
    convert::Infallible,
    future::poll_fn,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderName, HeaderValue};
use http_body::{Body as _, Frame};
use prost::bytes::Bytes;
use tonic::{Code, Status, body::Body, transport::Channel};
use tower::Service;

use super::generate::{Authorization, Call};

/// How long a call may go unanswered before the test calls it silence.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// What a call got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A gRPC status, in the headers (trailers-only) or the trailers; `details` when it carries
    /// `grpc-status-details-bin`.
    Status {
        code: Code,
        message: String,
        details: bool,
    },
    /// An HTTP answer without a gRPC status.
    Http(u16),
    /// The stream or the connection was reset, or the request was refused before it was sent.
    Transport(String),
    /// The body ended without a status: a gRPC client would make that UNKNOWN.
    NoStatus,
    /// Nothing within [`ANSWER_WITHIN`].
    Silence,
}

/// The live session tokens that [`Authorization::Caller`] and [`Authorization::Sacrificed`]
/// stand for.
pub struct Tokens {
    pub caller: String,
    pub sacrificed: String,
}

/// Sends `call` on `channel` and waits for its whole answer.
pub async fn send(channel: &Channel, call: &Call, tokens: &Tokens) -> Outcome {
    answer(channel, call, tokens)
        .await
        .map_or_else(|outcome| outcome, Outcome::from)
}

/// Sends `call` on `channel` and returns its gRPC status, or what came instead of one.
pub async fn answer(channel: &Channel, call: &Call, tokens: &Tokens) -> Result<Status, Outcome> {
    let request = request(call, tokens);
    tokio::time::timeout(ANSWER_WITHIN, exchange(channel.clone(), request))
        .await
        .unwrap_or(Err(Outcome::Silence))
}

fn request(call: &Call, tokens: &Tokens) -> http::Request<Body> {
    let body = Body::new(OneChunk(
        Some(Bytes::from(call.body.clone())).filter(|b| !b.is_empty()),
    ));
    let mut request = http::Request::new(body);
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = call.rpc.path.parse().expect("a valid path");
    let headers = request.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/grpc"));
    headers.insert("te", HeaderValue::from_static("trailers"));
    for authorization in &call.authorization {
        let value = match authorization {
            Authorization::Caller => format!("Bearer {}", tokens.caller).into_bytes(),
            Authorization::Sacrificed => format!("Bearer {}", tokens.sacrificed).into_bytes(),
            Authorization::Raw(bytes) => bytes.clone(),
        };
        let value = HeaderValue::from_bytes(&value).expect("the generator makes valid values");
        headers.append(http::header::AUTHORIZATION, value);
    }
    for (name, value) in &call.metadata {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
        let value = HeaderValue::from_bytes(value).expect("the generator makes valid values");
        // A second content-type or grpc-encoding would be two answers to one question.
        headers.insert(name, value);
    }
    request
}

async fn exchange(mut channel: Channel, request: http::Request<Body>) -> Result<Status, Outcome> {
    if let Err(error) = poll_fn(|cx| channel.poll_ready(cx)).await {
        return Err(Outcome::Transport(format!("not ready: {error}")));
    }
    let response = match channel.call(request).await {
        Ok(response) => response,
        Err(error) => return Err(Outcome::Transport(format!("{error:?}"))),
    };
    if let Some(status) = Status::from_header_map(response.headers()) {
        return Ok(status);
    }
    let http = response.status();
    let mut body = response.into_body();
    let mut trailers = None;
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        match frame {
            Ok(frame) => trailers = frame.into_trailers().ok().or(trailers),
            Err(status) => return Err(Outcome::Transport(format!("body: {status:?}"))),
        }
    }
    match trailers.as_ref().and_then(Status::from_header_map) {
        Some(status) => Ok(status),
        None if http != http::StatusCode::OK => Err(Outcome::Http(http.as_u16())),
        None => Err(Outcome::NoStatus),
    }
}

impl From<Status> for Outcome {
    fn from(status: Status) -> Self {
        Outcome::Status {
            code: status.code(),
            message: status.message().to_string(),
            details: !status.details().is_empty(),
        }
    }
}

/// A body of one DATA frame, or of none (the request's HEADERS then carry END_STREAM).
struct OneChunk(Option<Bytes>);

impl http_body::Body for OneChunk {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}
