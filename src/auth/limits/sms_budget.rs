//! The SMS budgets as breakers: past the service-wide one, or past the one toward a number's
//! country, RequestCode answers UNAVAILABLE for such numbers, and the operators hear of it once
//! per window and budget rather than once per refusal.
use std::{collections::HashMap, sync::Mutex, time::Duration};

use super::{Limit, limit::Refusal};
use crate::domain::{AuthError, Clock, UnixMicros};

/// When each budget (by its counter key) last logged its error, shared by every call. It holds
/// at most one entry per destination country and one for the service.
pub(super) struct BudgetAlarm {
    last: Mutex<HashMap<String, UnixMicros>>,
    clock: Clock,
}

impl BudgetAlarm {
    pub(super) fn new(clock: Clock) -> Self {
        Self {
            last: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// The error for a call that `limit`, the budget of `budget` SMS per `window` counted under
    /// `key`, refused; logs the alarm if this budget has not logged it this window.
    pub(super) fn exhausted(
        &self,
        limit: Limit,
        key: &str,
        budget: u32,
        window: Duration,
        refusal: Refusal,
        retry_after: Duration,
    ) -> AuthError {
        if self.first_this_window(key, window) {
            let window_seconds = window.as_secs_f64();
            match limit {
                Limit::SmsBudgetPerCountry => tracing::error!(
                    budget,
                    window_seconds,
                    counter = key,
                    "SMS budget toward one country exhausted: RequestCode refuses its numbers \
                     until the window frees, other countries are still served (possible SMS \
                     pumping; if the traffic is legitimate, give the country a larger budget in \
                     SMS_BUDGET_COUNTRY_OVERRIDES)"
                ),
                _ => tracing::error!(
                    budget,
                    window_seconds,
                    "SMS budget exhausted: RequestCode refuses real numbers until the window frees \
                     (possible SMS pumping; raise SMS_BUDGET_PER_WINDOW if the traffic is \
                     legitimate)"
                ),
            }
        }
        AuthError::SmsBudgetSpent {
            budget: refusal.label,
            retry_after,
        }
    }

    /// Whether no alarm for `key` was logged within the last `window`; if so, records one now.
    fn first_this_window(&self, key: &str, window: Duration) -> bool {
        let now = self.clock.now();
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match last.get_mut(key) {
            Some(at) if now - *at < window.as_micros() as i64 => false,
            Some(at) => {
                *at = now;
                true
            }
            None => {
                last.insert(key.to_string(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_sounds_once_per_window_for_each_budget() {
        let clock = Clock::manual();
        let alarm = BudgetAlarm::new(clock.clone());
        let window = Duration::from_secs(60);
        assert!(alarm.first_this_window("country:RU", window));
        assert!(!alarm.first_this_window("country:RU", window));
        assert!(alarm.first_this_window("country:GB", window));
        assert!(alarm.first_this_window("global", window));
        clock.advance(Duration::from_secs(59));
        assert!(!alarm.first_this_window("country:RU", window));
        clock.advance(Duration::from_secs(1));
        assert!(alarm.first_this_window("country:RU", window));
        assert!(!alarm.first_this_window("country:RU", window));
    }
}
