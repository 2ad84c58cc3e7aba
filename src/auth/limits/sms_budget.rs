//! The service-wide SMS budget as a breaker: past it RequestCode answers UNAVAILABLE for real
//! numbers, and the operators hear of it once per window rather than once per refusal.
use std::{
    sync::atomic::{AtomicI64, Ordering},
    time::Duration,
};

use crate::{
    config::LimitsConfig,
    domain::{AuthError, Clock},
};

/// When the breaker last logged its error, shared by every call.
pub(super) struct BudgetAlarm {
    last: AtomicI64,
    clock: Clock,
}

impl BudgetAlarm {
    pub(super) fn new(clock: Clock) -> Self {
        Self {
            last: AtomicI64::new(0),
            clock,
        }
    }

    /// The error for a call refused by the exhausted budget (`why` says so); logs the alarm if
    /// this window has not logged it yet.
    pub(super) fn exhausted(
        &self,
        config: &LimitsConfig,
        why: &str,
        retry_after: Duration,
    ) -> AuthError {
        let now = self.clock.now();
        let last = self.last.load(Ordering::Relaxed);
        let window = config.sms_budget_window.as_micros() as i64;
        if now - last >= window
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::error!(
                budget = config.sms_budget,
                window_seconds = config.sms_budget_window.as_secs_f64(),
                "SMS budget exhausted: RequestCode refuses real numbers until the window frees \
                 (possible SMS pumping; raise SMS_BUDGET_PER_WINDOW if the traffic is legitimate)"
            );
        }
        AuthError::Unavailable {
            what: "SMS delivery",
            source: anyhow::anyhow!("{why}; frees in {retry_after:?}"),
        }
    }
}
