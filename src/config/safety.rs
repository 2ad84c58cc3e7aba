//! Combinations of settings that are each valid alone but unsafe together. Some stop the
//! process at start ([`refuse_unsafe`]); the rest are logged by `startup::build`
//! ([`Config::startup_warnings`]). The reasoning and the numbers: docs/security.md.
use std::net::SocketAddr;

use tracing::Level;

use super::{Config, ConfigError, MAX_CODE_ATTEMPTS, SmsProvider};

/// The code length below which a real sender gets a warning.
pub const RECOMMENDED_CODE_LENGTH: usize = 6;

/// Something about the settings an operator must hear at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupWarning {
    /// `ERROR` for a setting that hands out logins; `WARN` for one that weakens a bound.
    pub level: Level,
    pub message: String,
}

/// Refuses the combinations that would hand out logins without anyone noticing.
pub(super) fn refuse_unsafe(config: &Config) -> Result<(), ConfigError> {
    if matches!(config.sms_provider, SmsProvider::Console)
        && !is_loopback(config.listen_addr)
        && !config.dangerously_expose_debug_codes
    {
        return Err(ConfigError {
            var: "LISTEN_ADDR",
            value: config.listen_addr.to_string(),
            accepts: "a loopback address (127.0.0.1 or [::1]) while SMS_PROVIDER=console, which \
                      answers every RequestCode with its code in debug_code, so that anyone who \
                      reaches the port logs in as any phone. Set a real SMS_PROVIDER (and \
                      SECRET_KEY), or, only on a development machine no one else can reach, \
                      DANGEROUSLY_EXPOSE_DEBUG_CODES=true"
                .into(),
        });
    }
    let mut admins_with_fixed_codes: Vec<&String> = config
        .test_phone_codes
        .keys()
        .filter(|phone| config.admin_phones.contains(*phone))
        .collect();
    admins_with_fixed_codes.sort();
    if let Some(phone) = admins_with_fixed_codes.first() {
        return Err(ConfigError {
            var: "TEST_PHONE_CODES",
            value: format!("{phone}:<hidden>"),
            accepts: "numbers that are not in ADMIN_PHONES: a fixed code, which skips SMS and is \
                      known to everyone with the configuration, must never open ListUsers"
                .into(),
        });
    }
    Ok(())
}

/// True for 127.0.0.0/8 and ::1 (also written as ::ffff:127.x.y.z): not reachable from
/// another machine. The wildcards 0.0.0.0 and :: listen on every interface.
pub(super) fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

impl Config {
    /// What `startup::build` logs before serving: settings that are allowed but dangerous.
    pub fn startup_warnings(&self) -> Vec<StartupWarning> {
        let mut warnings = Vec::new();
        let sender = match &self.sms_provider {
            SmsProvider::Console => {
                if !is_loopback(self.listen_addr) {
                    warnings.push(StartupWarning {
                        level: Level::ERROR,
                        message: format!(
                            "DANGEROUSLY_EXPOSE_DEBUG_CODES=true: SMS_PROVIDER=console answers \
                             every RequestCode with its code in debug_code on LISTEN_ADDR={}, \
                             which other machines may reach; anyone who reaches it logs in as \
                             any phone, administrators included. Development only",
                            self.listen_addr
                        ),
                    });
                }
                return warnings;
            }
            SmsProvider::Webhook(_) => "webhook",
            SmsProvider::Twilio(_) => "twilio",
            SmsProvider::SmsRu(_) => "smsru",
        };
        if self.code_length < RECOMMENDED_CODE_LENGTH {
            warnings.push(StartupWarning {
                level: Level::WARN,
                message: self.short_code_warning(sender),
            });
        }
        if !self.test_phone_codes.is_empty() {
            warnings.push(StartupWarning {
                level: Level::ERROR,
                message: format!(
                    "TEST_PHONE_CODES is set with SMS_PROVIDER={sender}: {} number(s) log in \
                     with a fixed code and no SMS, and anyone who learns a pair logs in as that \
                     number. Keep them to review accounts and remove them when done",
                    self.test_phone_codes.len()
                ),
            });
        }
        warnings
    }

    /// The takeover arithmetic at the configured SMS budget: an attacker after *any* account
    /// asks for one code per victim and spends its tries on each.
    fn short_code_warning(&self, sender: &str) -> String {
        let limits = &self.limits;
        let codes_per_day =
            f64::from(limits.sms_budget) * 86_400.0 / limits.sms_budget_window.as_secs_f64();
        let tries = MAX_CODE_ATTEMPTS.min(limits.wrong_codes_per_phone);
        let takeovers =
            |digits: usize| codes_per_day * f64::from(tries) / 10f64.powi(digits as i32);
        format!(
            "CODE_LENGTH={length} with SMS_PROVIDER={sender}: at the SMS budget \
             ({budget} per {window} s) an attacker after any account gets {codes_per_day:.0} \
             codes a day x {tries} tries / 10^{length} = about {now:.2} takeovers a day \
             ({six:.4} with CODE_LENGTH={RECOMMENDED_CODE_LENGTH}); see docs/security.md",
            length = self.code_length,
            budget = limits.sms_budget,
            window = limits.sms_budget_window.as_secs_f64(),
            now = takeovers(self.code_length),
            six = takeovers(RECOMMENDED_CODE_LENGTH),
        )
    }
}
