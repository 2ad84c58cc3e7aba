//! SMS settings: what every sender shares ([`SmsConfig`]) and each provider's own settings,
//! read only when SMS_PROVIDER names that provider.
use std::{fmt, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};

use super::{ConfigError, SmsProvider, env::Env, redact_password};

/// A setting that must never reach a log line: `Debug` shows `<hidden>`.
#[derive(Clone)]
pub struct Hidden<T>(T);

impl<T> Hidden<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Hidden<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

/// The message template and the delivery timing every sender shares.
#[derive(Clone, Debug)]
pub struct SmsConfig {
    /// Message text; `{code}` and `{minutes}` (the code's lifetime) are filled in.
    pub template: String,
    /// Longest wait for one HTTP attempt (connect, send, read the answer).
    pub attempt_timeout: Duration,
    /// Longest time for all attempts at one message, backoff included.
    pub deadline: Duration,
}

impl SmsConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            template: env.parse_with(
                "SMS_TEMPLATE",
                "Your code: {code}",
                "a message text containing {code} (and optionally {minutes})",
                |v| v.contains("{code}").then(|| v.to_owned()),
            )?,
            attempt_timeout: env.seconds("SMS_TIMEOUT_SECONDS", 5)?,
            deadline: env.seconds("SMS_DEADLINE_SECONDS", 8)?,
        })
    }
}

/// `SMS_PROVIDER=webhook`: a signed POST to the operator's own endpoint.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub url: String,
    /// The HMAC key: the base64-decoded part of `whsec_<base64>`.
    pub secret: Hidden<Vec<u8>>,
}

/// `SMS_PROVIDER=twilio`.
#[derive(Clone, Debug)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: Hidden<String>,
    pub from: TwilioFrom,
    /// `https://api.twilio.com`, without a trailing slash.
    pub api_base: String,
}

/// Where Twilio messages come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TwilioFrom {
    /// A Twilio phone number or alphanumeric sender ID (`From`).
    Sender(String),
    /// A Messaging Service, which picks the number (`MessagingServiceSid`).
    MessagingService(String),
}

/// `SMS_PROVIDER=smsru`.
#[derive(Clone, Debug)]
pub struct SmsRuSettings {
    pub api_id: Hidden<String>,
    /// An approved sender name; unset uses the account's default.
    pub from: Option<String>,
    /// `https://sms.ru`, without a trailing slash.
    pub api_base: String,
}

impl SmsProvider {
    /// Reads SMS_PROVIDER and the settings of the provider it names. A real provider's
    /// `SMS_DEADLINE_SECONDS` must end before the call's own deadline does.
    pub(super) fn from_env(
        env: &Env,
        sms: &SmsConfig,
        request_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let accepts = "one of: console, webhook, twilio, smsru";
        let name = env.parse_with("SMS_PROVIDER", "console", accepts, |v| {
            let v = v.to_ascii_lowercase();
            ["console", "webhook", "twilio", "smsru"]
                .contains(&v.as_str())
                .then_some(v)
        })?;
        let provider = match name.as_str() {
            "webhook" => SmsProvider::Webhook(WebhookSettings {
                url: url(env, "SMS_WEBHOOK_URL", None)?,
                secret: Hidden(webhook_secret(env)?),
            }),
            "twilio" => SmsProvider::Twilio(twilio(env)?),
            "smsru" => SmsProvider::SmsRu(SmsRuSettings {
                api_id: Hidden(required(env, "SMSRU_API_ID", "your SMS.ru api_id")?),
                from: env.get("SMSRU_FROM").map(|v| v.trim().to_owned()),
                api_base: url(env, "SMSRU_API_BASE", Some("https://sms.ru"))?,
            }),
            _ => return Ok(SmsProvider::Console),
        };
        if sms.deadline >= request_timeout {
            return Err(env.error(
                "SMS_DEADLINE_SECONDS",
                &sms.deadline.as_secs_f64().to_string(),
                &format!(
                    "fewer seconds than REQUEST_TIMEOUT_SECONDS ({})",
                    request_timeout.as_secs_f64()
                ),
            ));
        }
        Ok(provider)
    }
}

fn twilio(env: &Env) -> Result<TwilioSettings, ConfigError> {
    let sid = |var: &'static str, prefix: &str| -> Result<Option<String>, ConfigError> {
        if env.get(var).is_none() {
            return Ok(None);
        }
        let accepts = format!("{prefix} followed by 32 hex digits");
        env.parse_with(var, "", &accepts, |v| {
            let hex = v.strip_prefix(prefix)?;
            (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| v.to_owned())
        })
        .map(Some)
    };
    let account_sid = sid("TWILIO_ACCOUNT_SID", "AC")?
        .ok_or_else(|| env.error("TWILIO_ACCOUNT_SID", "", "your Account SID: AC + 32 hex"))?;
    let from = match (
        env.get("TWILIO_FROM"),
        sid("TWILIO_MESSAGING_SERVICE_SID", "MG")?,
    ) {
        (Some(from), None) => TwilioFrom::Sender(from.trim().to_owned()),
        (None, Some(service)) => TwilioFrom::MessagingService(service),
        (from, _) => {
            let accepts = "exactly one of TWILIO_FROM (a number or sender ID) and \
                           TWILIO_MESSAGING_SERVICE_SID";
            return Err(env.error("TWILIO_FROM", &from.unwrap_or_default(), accepts));
        }
    };
    Ok(TwilioSettings {
        account_sid,
        auth_token: Hidden(required(
            env,
            "TWILIO_AUTH_TOKEN",
            "your Twilio Auth Token",
        )?),
        from,
        api_base: url(env, "TWILIO_API_BASE", Some("https://api.twilio.com"))?,
    })
}

/// A variable the chosen provider cannot do without.
fn required(env: &Env, var: &'static str, what: &str) -> Result<String, ConfigError> {
    let accepts = format!("{what} (required by this SMS_PROVIDER)");
    env.get(var)
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| env.error(var, "", &accepts))
}

/// An http(s) URL; a trailing slash is dropped so paths can be appended.
fn url(env: &Env, var: &'static str, default: Option<&str>) -> Result<String, ConfigError> {
    let accepts = "an http:// or https:// URL";
    if default.is_none() && env.get(var).is_none() {
        return Err(env.error(var, "", &format!("{accepts} (required by SMS_PROVIDER)")));
    }
    env.parse_with(var, default.unwrap_or_default(), accepts, |v| {
        let url = reqwest::Url::parse(v).ok()?;
        let usable = matches!(url.scheme(), "http" | "https") && url.host().is_some();
        usable.then(|| v.trim_end_matches('/').to_owned())
    })
    // A URL may carry credentials (https://user:pass@host); the error must not show them.
    .map_err(|error| ConfigError {
        value: redact_password(&error.value),
        ..error
    })
}

/// Standard Webhooks' secret form: `whsec_` and the base64 key, at least 24 bytes of it.
fn webhook_secret(env: &Env) -> Result<Vec<u8>, ConfigError> {
    let accepts = "whsec_ followed by a base64 key of at least 24 bytes";
    let value = env
        .get("SMS_WEBHOOK_SECRET")
        .ok_or_else(|| env.error("SMS_WEBHOOK_SECRET", "", accepts))?;
    value
        .trim()
        .strip_prefix("whsec_")
        .and_then(|key| STANDARD.decode(key).ok())
        .filter(|key| key.len() >= 24)
        .ok_or_else(|| env.error("SMS_WEBHOOK_SECRET", "<hidden>", accepts))
}

#[cfg(test)]
mod tests;
