//! Applying the throttles: which counter each call spends, and the refusal it gets.
use std::{sync::atomic::Ordering, time::Duration};

use super::Auth;
use crate::{
    domain::{AuthError, ClientAddr, UnixMicros, now_micros},
    store::Admission,
    telemetry,
};

/// A hit recorded under a key, kept so that it can be refunded if the call fails.
pub(super) struct Spent {
    key: String,
    stamp: UnixMicros,
    /// Spent from a fixed-window counter rather than a sliding log.
    counted: bool,
}

/// A sliding-window limit: at most `limit` hits per `window`, and optionally a cooldown
/// between two hits, refused with their own messages and metric labels.
pub(super) struct Limit<'a> {
    pub limit: u32,
    pub window: Duration,
    pub refusal: &'a str,
    pub name: &'static str,
    pub cooldown: Option<Cooldown<'a>>,
}

/// The least time between two hits of one [`Limit`].
#[derive(Clone, Copy)]
pub(super) struct Cooldown<'a> {
    pub gap: Duration,
    pub refusal: &'a str,
    pub name: &'static str,
}

/// Whole seconds to wait, rounded up, for messages.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

pub(super) fn throttled(what: &str, retry_after: Duration) -> AuthError {
    AuthError::Throttled {
        message: format!("{what}; retry in {} s", seconds(retry_after)),
        retry_after,
    }
}

impl Auth {
    /// Spends one token of the client address's bucket for `rpc`.
    pub(super) async fn throttle_address(
        &self,
        rpc: &str,
        client: ClientAddr,
        burst: u32,
        per_minute: f64,
    ) -> Result<(), AuthError> {
        let key = format!("ip:{rpc}:{}", client.limit_key());
        match self
            .limits
            .take_token(&key, burst, per_minute / 60.0)
            .await?
        {
            Admission::Allowed { .. } => Ok(()),
            Admission::Denied { retry_after } | Admission::TooSoon { retry_after } => {
                let limit = if rpc == "RequestCode" {
                    "request_code_per_address"
                } else {
                    "verify_code_per_address"
                };
                metrics::counter!(telemetry::THROTTLED, "limit" => limit).increment(1);
                Err(throttled(
                    &format!("too many {rpc} calls from your network address"),
                    retry_after,
                ))
            }
        }
    }

    /// Records a hit in a sliding window, or refuses with `limit.refusal` and the wait.
    pub(super) async fn spend(&self, key: String, limit: Limit<'_>) -> Result<Spent, AuthError> {
        let gap = limit.cooldown.map_or(Duration::ZERO, |c| c.gap);
        let (refusal, name, retry_after) = match self
            .limits
            .hit(&key, limit.limit, limit.window, gap)
            .await?
        {
            Admission::Allowed { stamp } => {
                return Ok(Spent {
                    key,
                    stamp,
                    counted: false,
                });
            }
            Admission::Denied { retry_after } => (limit.refusal, limit.name, retry_after),
            Admission::TooSoon { retry_after } => match limit.cooldown {
                Some(cooldown) => (cooldown.refusal, cooldown.name, retry_after),
                None => (limit.refusal, limit.name, retry_after),
            },
        };
        metrics::counter!(telemetry::THROTTLED, "limit" => name).increment(1);
        Err(throttled(refusal, retry_after))
    }

    /// Gives hits back after the call they paid for failed. Refund failures are logged only:
    /// the caller already has the real error to report.
    pub(super) async fn refund(&self, spent: impl IntoIterator<Item = Spent>) {
        for Spent {
            key,
            stamp,
            counted,
        } in spent
        {
            let refunded = if counted {
                self.limits.uncount(&key, stamp).await
            } else {
                self.limits.refund(&key, stamp).await
            };
            if let Err(error) = refunded {
                tracing::warn!(error = ?error, key, "could not refund a rate-limit hit");
            }
        }
    }

    /// Spends one SMS of the service-wide budget; past it the breaker is open and RequestCode
    /// answers UNAVAILABLE. The error is logged once per window, not once per refusal.
    pub(super) async fn spend_sms_budget(&self) -> Result<Spent, AuthError> {
        let limits = &self.policy.limits;
        match self
            .limits
            .count("sms:global", limits.sms_budget, limits.sms_budget_window)
            .await?
        {
            Admission::Allowed { stamp } => Ok(Spent {
                key: "sms:global".into(),
                stamp,
                counted: true,
            }),
            Admission::Denied { retry_after } | Admission::TooSoon { retry_after } => {
                metrics::counter!(telemetry::THROTTLED, "limit" => "sms_budget").increment(1);
                let now = now_micros();
                let last = self.budget_alarm.load(Ordering::Relaxed);
                let window = limits.sms_budget_window.as_micros() as i64;
                if now - last >= window
                    && self
                        .budget_alarm
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::error!(
                        budget = limits.sms_budget,
                        window_seconds = limits.sms_budget_window.as_secs_f64(),
                        "SMS budget exhausted: RequestCode refuses real numbers until the window frees \
                         (possible SMS pumping; raise SMS_BUDGET_PER_WINDOW if the traffic is legitimate)"
                    );
                }
                Err(AuthError::Unavailable {
                    what: "SMS delivery",
                    source: anyhow::anyhow!(
                        "service-wide SMS budget exhausted; frees in {retry_after:?}"
                    ),
                })
            }
        }
    }
}
