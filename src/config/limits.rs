//! Throttling settings. Defaults and their reasoning: docs/security.md.
use std::{net::IpAddr, str::FromStr, time::Duration};

use ipnet::IpNet;

use super::{ConfigError, env::Env};

/// Every throttle of the abuse-resistance layer.
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// Minimum time between two codes sent to one phone.
    pub resend_interval: Duration,
    /// Codes sent to one phone per `codes_per_phone_window`.
    pub codes_per_phone: u32,
    pub codes_per_phone_window: Duration,
    /// Wrong codes accepted for one phone per `wrong_codes_window`, across all its codes.
    pub wrong_codes_per_phone: u32,
    pub wrong_codes_window: Duration,
    /// Token buckets per client address: burst size and refill per minute.
    pub request_code_per_ip_burst: u32,
    pub request_code_per_ip_per_minute: f64,
    pub verify_code_per_ip_burst: u32,
    pub verify_code_per_ip_per_minute: f64,
    /// SMS sent by the whole service per `sms_budget_window` before the breaker opens.
    pub sms_budget: u32,
    pub sms_budget_window: Duration,
    /// SetInviter calls per signed-in user per `set_inviter_per_user_window`: each call is a
    /// guess at an invite code, so this bounds how many codes one account can probe.
    pub set_inviter_per_user: u32,
    pub set_inviter_per_user_window: Duration,
    /// Token bucket of SetInviter calls per client address (across accounts).
    pub set_inviter_per_ip_burst: u32,
    pub set_inviter_per_ip_per_minute: f64,
    /// REFERRAL_PHONES=masked: GetProfile, VerifyCode and SetInviter show referrals' numbers
    /// as `+7912*****89`; `full` (the default, as the original task lists the phones) shows
    /// them whole. Kept with the limits as another bound on what one account can harvest.
    pub mask_referral_phones: bool,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl LimitsConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            resend_interval: env.seconds_or_zero("RESEND_INTERVAL_SECONDS", 60)?,
            codes_per_phone: env.number("CODES_PER_PHONE", 5, 1..=1_000_000)? as u32,
            codes_per_phone_window: env.seconds("CODES_PER_PHONE_WINDOW_SECONDS", 3600)?,
            wrong_codes_per_phone: env.number("WRONG_CODES_PER_PHONE", 10, 1..=1_000_000)? as u32,
            wrong_codes_window: env.seconds("WRONG_CODES_WINDOW_SECONDS", 86_400)?,
            request_code_per_ip_burst: env.number(
                "REQUEST_CODE_PER_IP_BURST",
                10,
                1..=1_000_000_000,
            )? as u32,
            request_code_per_ip_per_minute: env.positive("REQUEST_CODE_PER_IP_PER_MINUTE", 10.0)?,
            verify_code_per_ip_burst: env.number(
                "VERIFY_CODE_PER_IP_BURST",
                20,
                1..=1_000_000_000,
            )? as u32,
            verify_code_per_ip_per_minute: env.positive("VERIFY_CODE_PER_IP_PER_MINUTE", 30.0)?,
            sms_budget: env.number("SMS_BUDGET_PER_WINDOW", 1000, 1..=1_000_000_000)? as u32,
            sms_budget_window: env.seconds("SMS_BUDGET_WINDOW_SECONDS", 3600)?,
            set_inviter_per_user: env.number("SET_INVITER_PER_USER", 10, 1..=1_000_000)? as u32,
            set_inviter_per_user_window: env
                .seconds("SET_INVITER_PER_USER_WINDOW_SECONDS", 3600)?,
            set_inviter_per_ip_burst: env.number(
                "SET_INVITER_PER_IP_BURST",
                10,
                1..=1_000_000_000,
            )? as u32,
            set_inviter_per_ip_per_minute: env.positive("SET_INVITER_PER_IP_PER_MINUTE", 5.0)?,
            mask_referral_phones: env.parse_with(
                "REFERRAL_PHONES",
                "full",
                "full or masked",
                |v| match v.to_ascii_lowercase().as_str() {
                    "full" => Some(false),
                    "masked" => Some(true),
                    _ => None,
                },
            )?,
            trusted_proxies: env.parse_with(
                "TRUSTED_PROXIES",
                "",
                "comma-separated IP addresses or CIDR ranges, e.g. 10.0.0.0/8,127.0.0.1",
                |v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            IpNet::from_str(p)
                                .ok()
                                .or_else(|| IpAddr::from_str(p).ok().map(IpNet::from))
                        })
                        .collect()
                },
            )?,
        })
    }
}
