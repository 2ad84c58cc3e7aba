//! Every limit of the service, in one place: which limits each RPC spends and in what order,
//! the keys they count under, and how a refusal is answered. A call is admitted as a whole
//! and gets back a [`Charge`] it can refund; callers never touch a counter.
mod charge;
mod keys;
mod limit;
mod sms_budget;
#[cfg(test)]
mod tests;

use std::{collections::HashSet, sync::Arc, time::Duration};

pub use charge::Charge;
use limit::{Counter, Limit};
use sms_budget::BudgetAlarm;

use crate::{
    config::{LimitsConfig, SmsDestination},
    domain::{AuthError, ClientAddr, Clock, PhoneNumber, UserId},
    store::{Admission, RateLimits},
    telemetry,
};

/// An RPC that spends limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    RequestCode,
    VerifyCode,
    SetInviter,
}

/// Whom a call is about, beside the address it comes from: the phone a code is for, or the
/// signed-in user. Its `Display` is the subject's part of a counter key.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Phone(&'a PhoneNumber),
    User(UserId),
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Phone(phone) => write!(f, "{phone}"),
            Subject::User(id) => write!(f, "user:{id}"),
        }
    }
}

impl Subject<'_> {
    /// Where an SMS about this subject goes, for the per-country budget.
    fn destination(self) -> Option<SmsDestination> {
        match self {
            Subject::Phone(phone) => SmsDestination::of(phone),
            Subject::User(_) => None,
        }
    }
}

impl Rpc {
    /// The limits a call spends, in the order they are checked: the address first, so that
    /// one address cannot exhaust a phone's or the service's limits for everyone else. The /64
    /// comes before its /56, so that a /64 refused by its own bucket spends none of the
    /// tokens its 255 neighbours share; the country's budget before the service's, so that a
    /// call refused toward a spent country never holds a slot of the global one.
    fn limits(self) -> &'static [Limit] {
        match self {
            Rpc::RequestCode => &[
                Limit::RequestCodePerAddress,
                Limit::RequestCodePerSite,
                Limit::CodesPerPhone,
                Limit::SmsBudgetPerCountry,
                Limit::SmsBudget,
            ],
            Rpc::VerifyCode => &[
                Limit::VerifyCodePerAddress,
                Limit::VerifyCodePerSite,
                Limit::WrongCodesPerPhone,
            ],
            Rpc::SetInviter => &[
                Limit::SetInviterPerAddress,
                Limit::SetInviterPerSite,
                Limit::SetInviterPerUser,
            ],
        }
    }
}

/// Admits calls against the rate-limit counters of [`RateLimits`].
pub struct Limiter {
    store: Arc<dyn RateLimits>,
    config: LimitsConfig,
    /// The numbers of TEST_PHONE_CODES: they are sent no SMS, so they spend no SMS limit.
    test_phones: HashSet<String>,
    sms_budget_alarm: BudgetAlarm,
}

impl Limiter {
    pub fn new(
        store: Arc<dyn RateLimits>,
        config: LimitsConfig,
        test_phones: HashSet<String>,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            config,
            test_phones,
            sms_budget_alarm: BudgetAlarm::new(clock),
        }
    }

    /// The counters' store (for the periodic removal of ended counters).
    pub fn store(&self) -> Arc<dyn RateLimits> {
        self.store.clone()
    }

    /// Spends every limit of `rpc` for a call from `client` about `subject`, or refuses the
    /// call with the first limit that is spent. All or nothing: a refused call keeps no hit it
    /// took on the way (except the address's token, which every call pays).
    pub async fn admit(
        &self,
        rpc: Rpc,
        client: ClientAddr,
        subject: Subject<'_>,
    ) -> Result<Charge, AuthError> {
        let test_phone = match subject {
            Subject::Phone(phone) => self.test_phones.contains(phone.as_e164()),
            Subject::User(_) => false,
        };
        let mut charge = Charge::new(self.store.clone());
        for &limit in rpc.limits() {
            if test_phone && limit.counts_sms() {
                continue;
            }
            let Some(key) = keys::key(limit, client, subject) else {
                continue;
            };
            if let Err(error) = self.spend(limit, subject, key, &mut charge).await {
                charge.refund().await;
                return Err(error);
            }
        }
        Ok(charge)
    }

    /// Records one hit of `limit` under `key`, adding it to `charge` when it can be refunded.
    async fn spend(
        &self,
        limit: Limit,
        subject: Subject<'_>,
        key: String,
        charge: &mut Charge,
    ) -> Result<(), AuthError> {
        let store = &self.store;
        let counter = limit.counter(&self.config, subject);
        let admission = match counter {
            Counter::Bucket { burst, per_second } => {
                store.take_token(&key, burst, per_second).await?
            }
            Counter::Log {
                limit,
                window,
                min_gap,
            } => store.hit(&key, limit, window, min_gap).await?,
            Counter::FixedWindow { limit, window } => store.count(&key, limit, window).await?,
        };
        match admission {
            Admission::Allowed { stamp } => {
                charge.add(limit, counter, key, stamp);
                Ok(())
            }
            Admission::Denied { retry_after } => {
                Err(self.refuse(limit, counter, &key, false, retry_after))
            }
            Admission::TooSoon { retry_after } => {
                Err(self.refuse(limit, counter, &key, true, retry_after))
            }
        }
    }

    /// Counts the refusal and words it: RESOURCE_EXHAUSTED with the wait for the caller's own
    /// limits, UNAVAILABLE (and the alarm) when an SMS budget, the service's or the
    /// destination country's, is spent.
    fn refuse(
        &self,
        limit: Limit,
        counter: Counter,
        key: &str,
        too_soon: bool,
        retry_after: Duration,
    ) -> AuthError {
        let refusal = limit.refusal(too_soon);
        metrics::counter!(telemetry::THROTTLED, "limit" => refusal.label).increment(1);
        match (limit, counter) {
            (
                Limit::SmsBudget | Limit::SmsBudgetPerCountry,
                Counter::FixedWindow {
                    limit: budget,
                    window,
                },
            ) => self
                .sms_budget_alarm
                .exhausted(limit, key, budget, window, refusal, retry_after),
            _ => throttled(refusal.message, retry_after),
        }
    }
}

fn throttled(what: &str, retry_after: Duration) -> AuthError {
    AuthError::Throttled {
        message: format!("{what}; retry in {} s", seconds(retry_after)),
        retry_after,
    }
}

/// Whole seconds to wait, rounded up, for messages.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}
