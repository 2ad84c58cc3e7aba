//! Typed configuration read once at start from the environment (and `.env`).
//!
//! Every variable is listed with its default in `.env.sample`. A bad value stops the process
//! with one line naming the variable and what it accepts.
use std::{collections::HashSet, net::SocketAddr, str::FromStr, time::Duration};

use phonenumber::country;

use crate::domain::{CODE_LENGTHS, PhoneNumber, SecretKey};

/// Wrong tries after which a pending code is destroyed.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// The default database: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://phone-auth.db?mode=rwc";

#[derive(Clone, Debug)]
pub struct Config {
    pub secret_key: SecretKey,
    /// True when SECRET_KEY was absent and a random key was made for this process.
    pub secret_key_is_ephemeral: bool,
    pub database_url: String,
    pub db_max_connections: u32,
    pub listen_addr: SocketAddr,
    pub default_region: country::Id,
    pub code_length: usize,
    pub code_ttl: Duration,
    pub session_ttl: Duration,
    pub resend_interval: Duration,
    pub sms_provider: SmsProvider,
    /// E.164 numbers of the administrators.
    pub admin_phones: HashSet<String>,
    pub request_timeout: Duration,
    pub max_request_bytes: usize,
}

/// Which SMS sender delivers codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsProvider {
    /// Logs the code and returns it in `debug_code`: development only.
    Console,
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
        let sms_provider =
            env.parse_with("SMS_PROVIDER", "console", "one of: console", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "console" => Some(SmsProvider::Console),
                    _ => None,
                }
            })?;
        let (secret_key, secret_key_is_ephemeral) = match env.get("SECRET_KEY") {
            Some(value) => {
                let key = SecretKey::new(value.clone().into_bytes()).map_err(|e| ConfigError {
                    var: "SECRET_KEY",
                    value: "<hidden>".into(),
                    accepts: format!("a secret that {e}"),
                })?;
                (key, false)
            }
            None if sms_provider == SmsProvider::Console => (SecretKey::ephemeral(), true),
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
        let code_length = env.parse_with("CODE_LENGTH", "4", "an integer from 4 to 8", |v| {
            v.parse().ok().filter(|n| CODE_LENGTHS.contains(n))
        })?;
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
        Ok(Self {
            secret_key,
            secret_key_is_ephemeral,
            database_url: env
                .get("DATABASE_URL")
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            db_max_connections: env.number("DB_MAX_CONNECTIONS", 8, 1..=1000)? as u32,
            listen_addr: env.parse_with(
                "LISTEN_ADDR",
                "127.0.0.1:50051",
                "a socket address such as 127.0.0.1:50051",
                |v| v.parse().ok(),
            )?,
            default_region,
            code_length,
            code_ttl: env.seconds("CODE_TTL_SECONDS", 300)?,
            session_ttl: env.seconds("SESSION_TTL_SECONDS", 30 * 24 * 3600)?,
            resend_interval: Duration::from_secs(env.number(
                "RESEND_INTERVAL_SECONDS",
                60,
                0..=86_400,
            )?),
            sms_provider,
            admin_phones,
            request_timeout: env.seconds("REQUEST_TIMEOUT_SECONDS", 10)?,
            max_request_bytes: env.number("MAX_REQUEST_BYTES", 16 * 1024, 1024..=4 * 1024 * 1024)?
                as usize,
        })
    }
}

/// Looks variables up and turns bad values into [`ConfigError`]s. Empty counts as unset.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn error(&self, var: &'static str, value: &str, accepts: &str) -> ConfigError {
        ConfigError {
            var,
            value: value.into(),
            accepts: accepts.into(),
        }
    }

    fn parse_with<T>(
        &self,
        var: &'static str,
        default: &str,
        accepts: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        let value = self.get(var).unwrap_or_else(|| default.to_owned());
        parse(value.trim()).ok_or_else(|| self.error(var, &value, accepts))
    }

    fn number(
        &self,
        var: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let accepts = format!("an integer from {} to {}", range.start(), range.end());
        self.parse_with(var, &default.to_string(), &accepts, |v| {
            v.parse().ok().filter(|n| range.contains(n))
        })
    }

    fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.number(var, default, 1..=365 * 24 * 3600)
            .map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_start_a_development_server() {
        let config = config(&[]).unwrap();
        assert!(config.secret_key_is_ephemeral);
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:50051");
        assert_eq!(config.code_length, 4);
        assert_eq!(config.code_ttl, Duration::from_secs(300));
        assert_eq!(config.session_ttl, Duration::from_secs(2_592_000));
        assert_eq!(config.default_region, country::RU);
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn bad_values_name_the_variable_and_what_it_accepts() {
        let err = config(&[("CODE_LENGTH", "3")]).unwrap_err();
        assert_eq!(err.var, "CODE_LENGTH");
        assert_eq!(
            err.to_string(),
            "invalid CODE_LENGTH=\"3\": expected an integer from 4 to 8"
        );
        assert_eq!(
            config(&[("DEFAULT_REGION", "XX")]).unwrap_err().var,
            "DEFAULT_REGION"
        );
        assert_eq!(
            config(&[("LISTEN_ADDR", "nope")]).unwrap_err().var,
            "LISTEN_ADDR"
        );
        assert_eq!(
            config(&[("SECRET_KEY", "short")]).unwrap_err().var,
            "SECRET_KEY"
        );
        assert_eq!(
            config(&[("ADMIN_PHONES", "+79123456789,abc")])
                .unwrap_err()
                .var,
            "ADMIN_PHONES"
        );
        assert_eq!(
            config(&[("SMS_PROVIDER", "pigeon")]).unwrap_err().var,
            "SMS_PROVIDER"
        );
    }

    #[test]
    fn admin_phones_are_read_in_the_default_region() {
        let config = config(&[("ADMIN_PHONES", "8 (912) 345-67-89, +1 650 253 0000")]).unwrap();
        assert!(config.admin_phones.contains("+79123456789"));
        assert!(config.admin_phones.contains("+16502530000"));
    }
}
