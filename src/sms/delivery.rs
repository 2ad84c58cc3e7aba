//! What every HTTP sender shares: one client, a timeout per attempt, and retries of failures
//! that certainly sent nothing, with jittered exponential backoff inside an overall deadline.
//! A request that may have reached the provider is never sent again: a retry could deliver
//! the code twice (and charge twice).
use std::time::Duration;

use anyhow::{Context, anyhow};
use rand::Rng;
use reqwest::{Client, RequestBuilder, StatusCode};
use tokio::time::Instant;

use super::SmsError;
use crate::config::SmsConfig;

/// Pause after the first failed attempt; it doubles per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// An attempt with less time than this left before the deadline is not started.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// What a provider's answer means, as each sender reads it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Accepted, with the provider's message id when it gave one.
    Accepted(Option<String>),
    /// Not sent, for now (429, 503, "try later"): worth another attempt.
    Retry(String),
    /// Refused for good (bad number, credentials, balance…): never retried.
    Rejected(String),
    /// An answer that leaves open whether the message went out: unreadable, or a server error
    /// other than 503 (500, 502, 504: the provider, or a gateway in front of it, may have
    /// failed after taking the message). Never sent again: a retry could deliver it twice.
    MaybeSent(String),
}

impl Verdict {
    /// The verdict a bare HTTP status gives: 2xx accepted; 429 and 503 (the request was not
    /// served) retried; other 5xx perhaps sent; other statuses refused.
    pub(super) fn from_status(status: StatusCode) -> Self {
        if status.is_success() {
            Verdict::Accepted(None)
        } else if status == StatusCode::SERVICE_UNAVAILABLE
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            Verdict::Retry(format!("HTTP {status}"))
        } else if status.is_server_error() {
            Verdict::MaybeSent(format!("HTTP {status}"))
        } else {
            Verdict::Rejected(format!("HTTP {status}"))
        }
    }
}

/// One provider's HTTP client and retry policy.
#[derive(Debug)]
pub(super) struct Delivery {
    provider: &'static str,
    client: Client,
    attempt_timeout: Duration,
    deadline: Duration,
}

impl Delivery {
    pub(super) fn new(provider: &'static str, config: &SmsConfig) -> anyhow::Result<Self> {
        // reqwest is built without a bundled crypto provider; ring is the one tonic and sqlx
        // use, and an error here only means a provider was installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .user_agent(concat!("phone-auth/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .with_context(|| format!("building the HTTP client of SMS sender {provider}"))?;
        Ok(Self {
            provider,
            client,
            attempt_timeout: config.attempt_timeout,
            deadline: config.deadline,
        })
    }

    /// Sends the request `build` makes until `read` accepts or refuses an answer or the
    /// deadline leaves no time for another attempt. `build` runs once per attempt.
    pub(super) async fn send(
        &self,
        build: impl Fn(&Client) -> RequestBuilder,
        read: impl Fn(StatusCode, &[u8]) -> Verdict,
    ) -> Result<(), SmsError> {
        let provider = self.provider;
        let deadline = Instant::now() + self.deadline;
        for attempt in 1u32.. {
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.min(self.attempt_timeout);
            let verdict = match build(&self.client).timeout(timeout).send().await {
                Ok(response) => {
                    let status = response.status();
                    // A body that breaks off is read as empty: the status still tells a lot.
                    let body = response.bytes().await.unwrap_or_default();
                    read(status, &body)
                }
                // Only a failed connect certainly sent nothing. A timeout or a broken
                // connection after that may have left the request with the provider.
                Err(error) if error.is_connect() => Verdict::Retry(describe(&error, timeout)),
                Err(error) => Verdict::MaybeSent(describe(&error, timeout)),
            };
            let why = match verdict {
                Verdict::Accepted(id) => {
                    tracing::info!(
                        provider,
                        attempt,
                        provider_id = id.as_deref(),
                        "SMS accepted"
                    );
                    return Ok(());
                }
                Verdict::Rejected(why) => {
                    tracing::warn!(provider, attempt, error = %why, "SMS refused; not retried");
                    return Err(SmsError::NotSent(anyhow!("{provider}: {why}")));
                }
                Verdict::MaybeSent(why) => {
                    tracing::warn!(provider, attempt, error = %why, "SMS perhaps sent; not retried");
                    return Err(SmsError::MaybeSent(anyhow!("{provider}: {why}")));
                }
                Verdict::Retry(why) => why,
            };
            let pause = backoff(attempt);
            if Instant::now() + pause + MIN_ATTEMPT > deadline {
                tracing::warn!(provider, attempt, error = %why, "SMS attempt failed; deadline reached");
                return Err(SmsError::NotSent(anyhow!(
                    "{provider}: {why} (gave up after {attempt} attempts)"
                )));
            }
            let retry_in_ms = pause.as_millis() as u64;
            tracing::warn!(provider, attempt, error = %why, retry_in_ms, "SMS attempt failed; retrying");
            tokio::time::sleep(pause).await;
        }
        unreachable!("the attempts loop returns")
    }
}

/// A transport error without its URL (a webhook URL may carry a token in its query).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {timeout:?}");
    }
    let kind = if error.is_connect() {
        "connect"
    } else {
        "request"
    };
    let mut text = format!("{kind} error");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Exponential backoff with "equal jitter": half the step fixed, half random, so that
/// instances retrying the same outage spread out.
fn backoff(attempt: u32) -> Duration {
    let step = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF);
    let half = step / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        for (attempt, step) in [
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1600),
            (5, 2000),
            (40, 2000),
        ] {
            for _ in 0..50 {
                let pause = backoff(attempt).as_millis() as u64;
                assert!((step / 2..=step).contains(&pause), "{attempt}: {pause}");
            }
        }
    }

    #[test]
    fn statuses_split_into_accepted_retried_and_refused() {
        assert_eq!(
            Verdict::from_status(StatusCode::NO_CONTENT),
            Verdict::Accepted(None)
        );
        for retried in [503, 429] {
            let status = StatusCode::from_u16(retried).unwrap();
            assert!(
                matches!(Verdict::from_status(status), Verdict::Retry(_)),
                "{retried}"
            );
        }
        for maybe_sent in [500, 502, 504] {
            let status = StatusCode::from_u16(maybe_sent).unwrap();
            assert!(
                matches!(Verdict::from_status(status), Verdict::MaybeSent(_)),
                "{maybe_sent}"
            );
        }
        for refused in [400, 401, 403, 404, 408, 422, 301] {
            let status = StatusCode::from_u16(refused).unwrap();
            assert!(
                matches!(Verdict::from_status(status), Verdict::Rejected(_)),
                "{refused}"
            );
        }
    }
}
