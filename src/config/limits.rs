//! Throttling settings. Defaults and their reasoning: docs/security.md.
use std::{collections::HashMap, fmt, net::IpAddr, str::FromStr, time::Duration};

use ipnet::IpNet;
use phonenumber::country;

use super::{ConfigError, env::Env};
use crate::domain::PhoneNumber;

/// How much wider the IPv6 /56 limits are than the /64 ones unless set: a /56 holds 256 /64s,
/// and a household or office rarely has more than a few of them asking for codes at once.
const SITE_FACTOR: u32 = 4;

/// The share of the service-wide SMS budget one destination may spend unless set: 30 %, so that
/// pumping toward one country leaves 70 % of the budget to the others.
const PER_COUNTRY_PERCENT: u64 = 30;

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
    /// Token buckets per IPv6 /56 (IPv4 has none), beside the /64 ones above: one allocation
    /// cannot multiply its limits by rotating through its 256 /64s.
    pub request_code_per_ipv6_56_burst: u32,
    pub request_code_per_ipv6_56_per_minute: f64,
    pub verify_code_per_ipv6_56_burst: u32,
    pub verify_code_per_ipv6_56_per_minute: f64,
    /// SMS sent by the whole service per `sms_budget_window` before the breaker opens.
    pub sms_budget: u32,
    pub sms_budget_window: Duration,
    /// SMS sent toward one destination (see [`SmsDestination`]) per `sms_budget_window`, unless
    /// `sms_budget_overrides` names it: pumping toward one country cannot spend the whole
    /// service-wide budget and so stop every other country.
    pub sms_budget_per_country: u32,
    pub sms_budget_overrides: HashMap<SmsDestination, u32>,
    /// SetInviter calls per signed-in user per `set_inviter_per_user_window`: each call is a
    /// guess at an invite code, so this bounds how many codes one account can probe.
    pub set_inviter_per_user: u32,
    pub set_inviter_per_user_window: Duration,
    /// Token bucket of SetInviter calls per client address (across accounts).
    pub set_inviter_per_ip_burst: u32,
    pub set_inviter_per_ip_per_minute: f64,
    pub set_inviter_per_ipv6_56_burst: u32,
    pub set_inviter_per_ipv6_56_per_minute: f64,
    /// REFERRAL_PHONES=masked: GetProfile, VerifyCode and SetInviter show referrals' numbers
    /// as `+7912*****89`; `full` (the default, as the original task lists the phones) shows
    /// them whole. Kept with the limits as another bound on what one account can harvest.
    pub mask_referral_phones: bool,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl LimitsConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let request_code_per_ip_burst =
            env.number("REQUEST_CODE_PER_IP_BURST", 10, 1..=1_000_000_000)? as u32;
        let request_code_per_ip_per_minute =
            env.positive("REQUEST_CODE_PER_IP_PER_MINUTE", 10.0)?;
        let verify_code_per_ip_burst =
            env.number("VERIFY_CODE_PER_IP_BURST", 20, 1..=1_000_000_000)? as u32;
        let verify_code_per_ip_per_minute = env.positive("VERIFY_CODE_PER_IP_PER_MINUTE", 30.0)?;
        let set_inviter_per_ip_burst =
            env.number("SET_INVITER_PER_IP_BURST", 10, 1..=1_000_000_000)? as u32;
        let set_inviter_per_ip_per_minute = env.positive("SET_INVITER_PER_IP_PER_MINUTE", 5.0)?;
        let sms_budget = env.number("SMS_BUDGET_PER_WINDOW", 1000, 1..=1_000_000_000)?;
        Ok(Self {
            resend_interval: env.seconds_or_zero("RESEND_INTERVAL_SECONDS", 60)?,
            codes_per_phone: env.number("CODES_PER_PHONE", 5, 1..=1_000_000)? as u32,
            codes_per_phone_window: env.seconds("CODES_PER_PHONE_WINDOW_SECONDS", 3600)?,
            wrong_codes_per_phone: env.number("WRONG_CODES_PER_PHONE", 10, 1..=1_000_000)? as u32,
            wrong_codes_window: env.seconds("WRONG_CODES_WINDOW_SECONDS", 86_400)?,
            request_code_per_ip_burst,
            request_code_per_ip_per_minute,
            verify_code_per_ip_burst,
            verify_code_per_ip_per_minute,
            request_code_per_ipv6_56_burst: site_burst(
                env,
                "REQUEST_CODE_PER_IPV6_56_BURST",
                request_code_per_ip_burst,
            )?,
            request_code_per_ipv6_56_per_minute: site_rate(
                env,
                "REQUEST_CODE_PER_IPV6_56_PER_MINUTE",
                request_code_per_ip_per_minute,
            )?,
            verify_code_per_ipv6_56_burst: site_burst(
                env,
                "VERIFY_CODE_PER_IPV6_56_BURST",
                verify_code_per_ip_burst,
            )?,
            verify_code_per_ipv6_56_per_minute: site_rate(
                env,
                "VERIFY_CODE_PER_IPV6_56_PER_MINUTE",
                verify_code_per_ip_per_minute,
            )?,
            sms_budget: sms_budget as u32,
            sms_budget_window: env.seconds("SMS_BUDGET_WINDOW_SECONDS", 3600)?,
            sms_budget_per_country: env.number(
                "SMS_BUDGET_PER_COUNTRY_PER_WINDOW",
                (sms_budget * PER_COUNTRY_PERCENT).div_ceil(100),
                1..=1_000_000_000,
            )? as u32,
            sms_budget_overrides: sms_budget_overrides(env)?,
            set_inviter_per_user: env.number("SET_INVITER_PER_USER", 10, 1..=1_000_000)? as u32,
            set_inviter_per_user_window: env
                .seconds("SET_INVITER_PER_USER_WINDOW_SECONDS", 3600)?,
            set_inviter_per_ip_burst,
            set_inviter_per_ip_per_minute,
            set_inviter_per_ipv6_56_burst: site_burst(
                env,
                "SET_INVITER_PER_IPV6_56_BURST",
                set_inviter_per_ip_burst,
            )?,
            set_inviter_per_ipv6_56_per_minute: site_rate(
                env,
                "SET_INVITER_PER_IPV6_56_PER_MINUTE",
                set_inviter_per_ip_per_minute,
            )?,
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

    /// The SMS budget per window toward `destination`: its override, or the per-country one.
    pub fn sms_budget_toward(&self, destination: SmsDestination) -> u32 {
        self.sms_budget_overrides
            .get(&destination)
            .copied()
            .unwrap_or(self.sms_budget_per_country)
    }
}

/// A /56 bucket's size: `var`, or [`SITE_FACTOR`] times its /64 bucket's.
fn site_burst(env: &Env, var: &'static str, per_64: u32) -> Result<u32, ConfigError> {
    let default = u64::from(per_64) * u64::from(SITE_FACTOR);
    Ok(env.number(var, default, 1..=u64::from(u32::MAX))? as u32)
}

/// A /56 bucket's refill per minute: `var`, or [`SITE_FACTOR`] times its /64 bucket's.
fn site_rate(env: &Env, var: &'static str, per_64: f64) -> Result<f64, ConfigError> {
    env.positive(var, per_64 * f64::from(SITE_FACTOR))
}

/// SMS_BUDGET_COUNTRY_OVERRIDES: `RU:800,GB:100,+882:5`. Strict: an unknown region, a calling
/// code that is not an international network, a budget out of range, or a destination named
/// twice refuses the whole value.
fn sms_budget_overrides(env: &Env) -> Result<HashMap<SmsDestination, u32>, ConfigError> {
    env.parse_with(
        "SMS_BUDGET_COUNTRY_OVERRIDES",
        "",
        "comma-separated destination:budget pairs, each destination once, e.g. RU:800,GB:100 \
         (ISO 3166 region codes, or +870, +881, +882 … for international networks; budgets \
         from 1 to 1000000000)",
        |v| {
            let mut overrides = HashMap::new();
            for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (destination, budget) = pair.split_once(':')?;
                let destination = SmsDestination::parse(destination.trim())?;
                let budget = budget.trim().parse::<u32>().ok();
                let budget = budget.filter(|b| (1..=1_000_000_000).contains(b))?;
                if overrides.insert(destination, budget).is_some() {
                    return None;
                }
            }
            Some(overrides)
        },
    )
}

/// Where an SMS goes, as the per-country SMS budget counts it: the number's ISO 3166 region,
/// or the calling code of an international network, which has no region.
///
/// Regions rather than calling codes, because a calling code can span many countries: +1 is
/// the US, Canada and some twenty Caribbean countries whose numbers are classic pumping targets,
/// and pumping toward Jamaica must not stop SMS to the US.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmsDestination {
    Region(country::Id),
    Network(u16),
}

impl SmsDestination {
    /// The destination of an SMS to `phone`. Every valid number has a region or belongs to an
    /// international network; `None` is there for the parser's sake only.
    pub fn of(phone: &PhoneNumber) -> Option<Self> {
        match (phone.region(), phone.international_network()) {
            (Some(region), _) => Some(Self::Region(region)),
            (None, Some(network)) => Some(Self::Network(network)),
            (None, None) => None,
        }
    }

    /// `RU` (any case) or `+882`; `None` for anything else.
    fn parse(text: &str) -> Option<Self> {
        match text.strip_prefix('+') {
            Some(code) => {
                let code = code.parse().ok()?;
                PhoneNumber::is_international_network(code).then_some(Self::Network(code))
            }
            None => country::Id::from_str(&text.to_ascii_uppercase())
                .ok()
                .map(Self::Region),
        }
    }
}

/// `RU` or `+882`, as SMS_BUDGET_COUNTRY_OVERRIDES names it; also the destination's part of
/// its counter key.
impl fmt::Display for SmsDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Region(region) => f.write_str(region.as_ref()),
            Self::Network(code) => write!(f, "+{code}"),
        }
    }
}

#[cfg(test)]
mod tests;
