//! The table of limits: what each one counts, how it is configured, and how it refuses.
//! A new limit is one variant here, one key in `keys.rs`, its place in [`super::Rpc`], and its
//! setting in `config/limits.rs` (documented in `.env.sample`).
use std::time::Duration;

use super::Subject;
use crate::config::LimitsConfig;

/// One limit a call can spend. Each is counted under its own key (see `keys.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Token bucket of RequestCode calls per client address.
    RequestCodePerAddress,
    /// Token bucket of VerifyCode calls per client address.
    VerifyCodePerAddress,
    /// Token bucket of RequestCode calls per IPv6 /56 (none for IPv4): one allocation cannot
    /// multiply the per-address limit by its 256 /64s.
    RequestCodePerSite,
    /// Token bucket of VerifyCode calls per IPv6 /56.
    VerifyCodePerSite,
    /// Sliding log of codes sent to one phone, with the resend cooldown folded in.
    CodesPerPhone,
    /// Sliding log of code checks for one phone; a slot is reserved before the check.
    WrongCodesPerPhone,
    /// Fixed-window count of SMS sent toward the number's country (a breaker per country,
    /// so that pumping toward one cannot spend the whole service-wide budget).
    SmsBudgetPerCountry,
    /// Fixed-window count of SMS sent by the whole service (the breaker).
    SmsBudget,
    /// Token bucket of SetInviter calls per client address.
    SetInviterPerAddress,
    /// Token bucket of SetInviter calls per IPv6 /56.
    SetInviterPerSite,
    /// Sliding log of SetInviter calls per signed-in user: each is a guess at an invite code.
    SetInviterPerUser,
}

/// The counter behind a limit, with its settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Counter {
    /// A token bucket; its tokens are never given back, since the address made the call
    /// whatever happened next.
    Bucket { burst: u32, per_second: f64 },
    /// A sliding log of hits, refusing past `limit` per `window` or within `min_gap` of the
    /// last hit.
    Log {
        limit: u32,
        window: Duration,
        min_gap: Duration,
    },
    /// A count in fixed windows: O(1) whatever the limit, for service-wide budgets.
    FixedWindow { limit: u32, window: Duration },
}

/// What a refused caller is told, and the `limit` label of `phoneauth_throttled_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    pub label: &'static str,
    pub message: &'static str,
}

impl Limit {
    /// The counter and its settings, read from the configuration (the per-country budget
    /// depends on the subject's destination).
    pub(super) fn counter(self, config: &LimitsConfig, subject: Subject<'_>) -> Counter {
        match self {
            Limit::RequestCodePerAddress => Counter::Bucket {
                burst: config.request_code_per_ip_burst,
                per_second: config.request_code_per_ip_per_minute / 60.0,
            },
            Limit::VerifyCodePerAddress => Counter::Bucket {
                burst: config.verify_code_per_ip_burst,
                per_second: config.verify_code_per_ip_per_minute / 60.0,
            },
            Limit::RequestCodePerSite => Counter::Bucket {
                burst: config.request_code_per_ipv6_56_burst,
                per_second: config.request_code_per_ipv6_56_per_minute / 60.0,
            },
            Limit::VerifyCodePerSite => Counter::Bucket {
                burst: config.verify_code_per_ipv6_56_burst,
                per_second: config.verify_code_per_ipv6_56_per_minute / 60.0,
            },
            Limit::CodesPerPhone => Counter::Log {
                limit: config.codes_per_phone,
                window: config.codes_per_phone_window,
                min_gap: config.resend_interval,
            },
            Limit::WrongCodesPerPhone => Counter::Log {
                limit: config.wrong_codes_per_phone,
                window: config.wrong_codes_window,
                min_gap: Duration::ZERO,
            },
            Limit::SmsBudgetPerCountry => Counter::FixedWindow {
                limit: subject
                    .destination()
                    .map_or(config.sms_budget_per_country, |d| {
                        config.sms_budget_toward(d)
                    }),
                window: config.sms_budget_window,
            },
            Limit::SmsBudget => Counter::FixedWindow {
                limit: config.sms_budget,
                window: config.sms_budget_window,
            },
            Limit::SetInviterPerAddress => Counter::Bucket {
                burst: config.set_inviter_per_ip_burst,
                per_second: config.set_inviter_per_ip_per_minute / 60.0,
            },
            Limit::SetInviterPerSite => Counter::Bucket {
                burst: config.set_inviter_per_ipv6_56_burst,
                per_second: config.set_inviter_per_ipv6_56_per_minute / 60.0,
            },
            Limit::SetInviterPerUser => Counter::Log {
                limit: config.set_inviter_per_user,
                window: config.set_inviter_per_user_window,
                min_gap: Duration::ZERO,
            },
        }
    }

    /// Whether the limit counts SMS. Numbers in TEST_PHONE_CODES are sent none, so they skip
    /// these limits (and only these).
    pub(super) fn counts_sms(self) -> bool {
        matches!(
            self,
            Limit::CodesPerPhone | Limit::SmsBudgetPerCountry | Limit::SmsBudget
        )
    }

    /// The refusal of a call over this limit; `too_soon` when the limit's minimum gap refused
    /// it rather than its count.
    pub(super) fn refusal(self, too_soon: bool) -> Refusal {
        let (label, message) = match (self, too_soon) {
            (Limit::RequestCodePerAddress, _) => (
                "request_code_per_address",
                "too many RequestCode calls from your network address",
            ),
            (Limit::VerifyCodePerAddress, _) => (
                "verify_code_per_address",
                "too many VerifyCode calls from your network address",
            ),
            (Limit::RequestCodePerSite, _) => (
                "request_code_per_site",
                "too many RequestCode calls from your network (IPv6 /56)",
            ),
            (Limit::VerifyCodePerSite, _) => (
                "verify_code_per_site",
                "too many VerifyCode calls from your network (IPv6 /56)",
            ),
            (Limit::CodesPerPhone, false) => {
                ("codes_per_phone", "too many codes sent to this number")
            }
            (Limit::CodesPerPhone, true) => {
                ("resend_cooldown", "a code was just sent to this number")
            }
            (Limit::WrongCodesPerPhone, _) => (
                "wrong_codes_per_phone",
                "too many wrong codes for this number",
            ),
            (Limit::SmsBudgetPerCountry, _) => (
                "sms_budget_per_country",
                "SMS budget toward this country exhausted",
            ),
            (Limit::SmsBudget, _) => ("sms_budget", "service-wide SMS budget exhausted"),
            (Limit::SetInviterPerAddress, _) => (
                "set_inviter_per_address",
                "too many SetInviter calls from your network address",
            ),
            (Limit::SetInviterPerSite, _) => (
                "set_inviter_per_site",
                "too many SetInviter calls from your network (IPv6 /56)",
            ),
            (Limit::SetInviterPerUser, _) => (
                "set_inviter_per_user",
                "too many SetInviter calls for this account",
            ),
        };
        Refusal { label, message }
    }
}
