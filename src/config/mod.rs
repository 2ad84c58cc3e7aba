//! Typed configuration read once at start from the environment (and `.env`).
//!
//! Every variable is listed with its default in `.env.sample`. A bad value stops the process
//! with one line naming the variable and what it accepts.
mod env;
mod limits;
mod redact;
mod safety;
mod service_tokens;
mod sms;
mod stores;
mod transport;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::PathBuf,
    str::FromStr,
    time::Duration,
};

use env::Env;
pub use limits::{LimitsConfig, SmsDestination};
pub use redact::{redact_password, scrub_password};
pub use safety::{RECOMMENDED_CODE_LENGTH, StartupWarning};
pub use service_tokens::{MIN_SERVICE_TOKEN_LEN, ServiceTokens};
pub use sms::{Hidden, SmsConfig, SmsRuSettings, TwilioFrom, TwilioSettings, WebhookSettings};
pub use stores::{DEFAULT_DATABASE_URL, StoresConfig};
pub use transport::TransportConfig;

use phonenumber::country;

use crate::domain::{CODE_LENGTHS, Clock, PhoneNumber, SecretKey, VerificationCode};

/// Wrong tries after which a pending code is destroyed.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

#[derive(Clone, Debug)]
pub struct Config {
    pub secret_key: SecretKey,
    /// True when SECRET_KEY was absent and a random key was made for this process.
    pub secret_key_is_ephemeral: bool,
    pub stores: StoresConfig,
    pub listen_addr: SocketAddr,
    /// Lets the console sender listen on a non-loopback address (development only).
    pub dangerously_expose_debug_codes: bool,
    pub default_region: country::Id,
    pub code_length: usize,
    pub code_ttl: Duration,
    pub session_ttl: Duration,
    pub sms_provider: SmsProvider,
    /// Template and delivery timing shared by every SMS sender.
    pub sms: SmsConfig,
    /// E.164 numbers of the administrators.
    pub admin_phones: HashSet<String>,
    /// Fixed codes for test numbers (E.164 → code): no SMS is sent for them.
    pub test_phone_codes: HashMap<String, VerificationCode>,
    /// Regions served (ISO 3166 ids); empty serves all.
    pub allowed_regions: HashSet<country::Id>,
    /// Calling codes of international networks served (e.g. 882); by default none is.
    pub allowed_international_networks: HashSet<u16>,
    pub limits: LimitsConfig,
    pub transport: TransportConfig,
    /// PEM certificate chain and key; TLS is on when both are set.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where Prometheus metrics are served (`GET /metrics`); off when unset.
    pub metrics_addr: Option<SocketAddr>,
    /// Credentials of the services that may call SessionService and ext_authz Check.
    pub service_tokens: ServiceTokens,
    /// Where time is read: the system clock. Not a setting; tests put a manual clock here.
    pub clock: Clock,
}

/// Which SMS sender delivers codes, with that provider's settings (`SMS_PROVIDER`).
#[derive(Clone, Debug)]
pub enum SmsProvider {
    /// Logs the code and returns it in `debug_code`: development only.
    Console,
    /// POSTs a signed JSON event (Standard Webhooks) to a URL of the operator's.
    Webhook(WebhookSettings),
    /// Twilio Programmable Messaging.
    Twilio(TwilioSettings),
    /// SMS.ru's HTTP API.
    SmsRu(SmsRuSettings),
}

/// A variable with a value the service cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {var}={value:?}: expected {accepts}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub accepts: String,
}

impl Config {
    /// Reads the process environment (after loading `.env`, if present, without overriding).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`; tests pass a map here instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let transport = TransportConfig::from_env(&env)?;
        let sms = SmsConfig::from_env(&env)?;
        let sms_provider = SmsProvider::from_env(&env, &sms, transport.request_timeout)?;
        let (secret_key, secret_key_is_ephemeral) = match env.get("SECRET_KEY") {
            Some(value) => {
                let key = SecretKey::new(value.clone().into_bytes()).map_err(|e| ConfigError {
                    var: "SECRET_KEY",
                    value: "<hidden>".into(),
                    accepts: format!("a secret that {e}"),
                })?;
                (key, false)
            }
            // Every instance on one Redis must key its digests alike; a random key per
            // process would make each instance blind to the codes and sessions of the others.
            None if env.get("REDIS_URL").is_some() => {
                return Err(env.error(
                    "SECRET_KEY",
                    "",
                    "a secret of at least 32 bytes, the same on every instance (required with \
                     REDIS_URL: a random key per process would leave each instance unable to \
                     read the codes and sessions the others store)",
                ));
            }
            None if matches!(sms_provider, SmsProvider::Console) => (SecretKey::ephemeral(), true),
            None => {
                return Err(env.error(
                    "SECRET_KEY",
                    "",
                    "a secret of at least 32 bytes (required unless SMS_PROVIDER=console)",
                ));
            }
        };
        let default_region = env.parse_with(
            "DEFAULT_REGION",
            "RU",
            "an ISO 3166 region code such as RU or US",
            |v| country::Id::from_str(&v.to_ascii_uppercase()).ok(),
        )?;
        // The seed's 4 digits stay for development; a real sender defaults to 6 (see
        // docs/security.md for the takeover arithmetic).
        let default_code_length = match sms_provider {
            SmsProvider::Console => 4,
            _ => RECOMMENDED_CODE_LENGTH,
        };
        let code_length = env.parse_with(
            "CODE_LENGTH",
            &default_code_length.to_string(),
            "an integer from 4 to 8",
            |v| v.parse().ok().filter(|n| CODE_LENGTHS.contains(n)),
        )?;
        let admin_phones = env.parse_with(
            "ADMIN_PHONES",
            "",
            "comma-separated phone numbers valid in DEFAULT_REGION",
            |v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        PhoneNumber::parse(p, default_region)
                            .ok()
                            .map(|n| n.as_e164().to_owned())
                    })
                    .collect::<Option<HashSet<_>>>()
            },
        )?;
        let config = Self {
            secret_key,
            secret_key_is_ephemeral,
            stores: StoresConfig::from_env(&env)?,
            listen_addr: env.parse_with(
                "LISTEN_ADDR",
                "127.0.0.1:50051",
                "a socket address such as 127.0.0.1:50051",
                |v| v.parse().ok(),
            )?,
            dangerously_expose_debug_codes: env.parse_with(
                "DANGEROUSLY_EXPOSE_DEBUG_CODES",
                "false",
                "true or false",
                |v| v.to_ascii_lowercase().parse().ok(),
            )?,
            default_region,
            code_length,
            code_ttl: env.seconds("CODE_TTL_SECONDS", 300)?,
            session_ttl: env.seconds("SESSION_TTL_SECONDS", 30 * 24 * 3600)?,
            sms_provider,
            sms,
            admin_phones,
            test_phone_codes: test_phone_codes(&env, default_region, code_length)?,
            allowed_regions: allowed_regions(&env)?,
            allowed_international_networks: allowed_international_networks(&env)?,
            limits: LimitsConfig::from_env(&env)?,
            transport,
            tls: tls_files(&env)?,
            metrics_addr: match env.get("METRICS_ADDR") {
                Some(_) => Some(env.parse_with(
                    "METRICS_ADDR",
                    "",
                    "a socket address such as 0.0.0.0:9090",
                    |v| v.parse().ok(),
                )?),
                None => None,
            },
            service_tokens: ServiceTokens::from_env(&env)?,
            clock: Clock::System,
        };
        safety::refuse_unsafe(&config)?;
        Ok(config)
    }
}

fn test_phone_codes(
    env: &Env,
    region: country::Id,
    code_length: usize,
) -> Result<HashMap<String, VerificationCode>, ConfigError> {
    let accepts = format!(
        "comma-separated phone:code pairs with {code_length}-digit codes, e.g. +79990000001:{}",
        "1".repeat(code_length)
    );
    env.parse_with("TEST_PHONE_CODES", "", &accepts, |v| {
        v.split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (phone, code) = pair.rsplit_once(':')?;
                let phone = PhoneNumber::parse(phone, region).ok()?;
                let code = VerificationCode::parse(code, code_length).ok()?;
                Some((phone.as_e164().to_owned(), code))
            })
            .collect()
    })
}

fn allowed_regions(env: &Env) -> Result<HashSet<country::Id>, ConfigError> {
    env.parse_with(
        "ALLOWED_REGIONS",
        "",
        "comma-separated ISO 3166 region codes, e.g. RU,KZ,BY (empty: all)",
        |v| {
            v.split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| country::Id::from_str(&r.to_ascii_uppercase()).ok())
                .collect()
        },
    )
}

fn allowed_international_networks(env: &Env) -> Result<HashSet<u16>, ConfigError> {
    env.parse_with(
        "ALLOWED_INTERNATIONAL_NETWORKS",
        "",
        "comma-separated calling codes of international networks, e.g. +881,+882 (one of +800, \
         +808, +870, +878, +881, +882, +883, +888, +979)",
        |v| {
            v.split(',')
                .map(str::trim)
                .filter(|code| !code.is_empty())
                .map(|code| {
                    let code = code.strip_prefix('+').unwrap_or(code).parse().ok()?;
                    PhoneNumber::is_international_network(code).then_some(code)
                })
                .collect()
        },
    )
}

fn tls_files(env: &Env) -> Result<Option<(PathBuf, PathBuf)>, ConfigError> {
    match (env.get("TLS_CERT_FILE"), env.get("TLS_KEY_FILE")) {
        (Some(cert), Some(key)) => Ok(Some((cert.into(), key.into()))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(env.error(
            "TLS_KEY_FILE",
            "",
            "a PEM private key file (TLS_CERT_FILE is set)",
        )),
        (None, Some(_)) => Err(env.error(
            "TLS_CERT_FILE",
            "",
            "a PEM certificate file (TLS_KEY_FILE is set)",
        )),
    }
}

#[cfg(test)]
mod tests;
