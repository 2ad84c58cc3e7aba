//! The call deadline as a tower layer: the smaller of REQUEST_TIMEOUT_SECONDS and the client's
//! `grpc-timeout`, answered DEADLINE_EXCEEDED as the gRPC status-code guide says.
//!
//! It replaces tonic's `Server::timeout`, which answers CANCELLED, and runs the handler even
//! when the client's deadline is zero (`grpc-timeout: 0n`). A deadline of zero here is over
//! before the call starts, so no handler runs.
//!
//! tonic still reads `grpc-timeout` outside every layer and would answer CANCELLED when it
//! fires. This layer counts from [`CallArrived`], stamped before tonic's timer starts. So for
//! the same duration it fires first (or at the same tick, when it is polled first), and tonic's
//! never gets the chance.
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// When the call reached the server's outermost layer: stamped by
/// [`MetricsLayer`](super::MetricsLayer), whose `call` tonic makes before it starts its own
/// `grpc-timeout` timer. A deadline counted from here fires on the same clock tick as tonic's or
/// an earlier one, so the call is answered DEADLINE_EXCEEDED, never tonic's CANCELLED. A timer
/// started in this layer's `call` instead (which the router may defer to the future's first
/// poll) could land on the tick after tonic's: a deadline test failed so on a loaded machine.
#[derive(Clone, Copy, Debug)]
pub struct CallArrived(pub Instant);

/// Adds [`DeadlineMiddleware`] with the server's own deadline.
#[derive(Clone, Copy, Debug)]
pub struct DeadlineLayer {
    server_deadline: Duration,
}

impl DeadlineLayer {
    pub fn new(server_deadline: Duration) -> Self {
        Self { server_deadline }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineMiddleware<S>;
    fn layer(&self, inner: S) -> Self::Service {
        DeadlineMiddleware {
            inner,
            server_deadline: self.server_deadline,
        }
    }
}

/// Answers DEADLINE_EXCEEDED for a call through `inner` that has no response by its deadline,
/// and drops the call.
#[derive(Clone, Debug)]
pub struct DeadlineMiddleware<S> {
    inner: S,
    server_deadline: Duration,
}

impl<S, B, ResBody> Service<http::Request<B>> for DeadlineMiddleware<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let deadline = match client_deadline(request.headers()) {
            Some(client) => client.min(self.server_deadline),
            None => self.server_deadline,
        };
        let arrived = request
            .extensions()
            .get::<CallArrived>()
            .map_or_else(Instant::now, |arrived| arrived.0);
        let sleep = tokio::time::sleep_until(arrived + deadline);
        let inner = (!deadline.is_zero()).then(|| self.inner.call(request));
        DeadlineFuture {
            inner,
            sleep,
            deadline,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner call's future, raced against its deadline.
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: Option<F>,
        #[pin]
        sleep: Sleep,
        deadline: Duration,
    }
}

impl<F, ResBody, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(inner) = this.inner.as_pin_mut() {
            if let Poll::Ready(output) = inner.poll(cx) {
                return Poll::Ready(output);
            }
            ready!(this.sleep.poll(cx));
        }
        let status = super::status::deadline_exceeded(*this.deadline);
        Poll::Ready(Ok(status.into_http()))
    }
}

/// The client's deadline from `grpc-timeout` (at most 8 digits and a unit, per gRPC over
/// HTTP/2). A value that does not parse is ignored, as tonic ignores it.
fn client_deadline(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().unwrap());
        client_deadline(&headers)
    }

    #[test]
    fn grpc_timeout_is_read_in_every_unit() {
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("4S"), Some(Duration::from_secs(4)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(parse("0n"), Some(Duration::ZERO));
    }

    #[test]
    fn a_grpc_timeout_that_does_not_parse_is_ignored() {
        for value in [
            "",
            "S",
            "100",
            "123456789S",
            "-1S",
            "+1S",
            "1.5S",
            "10s",
            "１S",
        ] {
            assert_eq!(parse(value), None, "{value:?}");
        }
        assert_eq!(client_deadline(&http::HeaderMap::new()), None);
    }
}
