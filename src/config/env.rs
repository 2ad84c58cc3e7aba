//! Reading variables and turning bad values into one-line [`ConfigError`]s.
use std::time::Duration;

use super::ConfigError;

/// Looks variables up through a closure (the process environment, or a map in tests).
/// An empty value counts as unset.
pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

/// The longest duration any setting accepts: one year.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

impl Env<'_> {
    pub(super) fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn error(&self, var: &'static str, value: &str, accepts: &str) -> ConfigError {
        ConfigError {
            var,
            value: value.into(),
            accepts: accepts.into(),
        }
    }

    /// Parses the value (or `default` when unset) with `parse`; `None` means "not accepted".
    pub(super) fn parse_with<T>(
        &self,
        var: &'static str,
        default: &str,
        accepts: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        let value = self.get(var).unwrap_or_else(|| default.to_owned());
        parse(value.trim()).ok_or_else(|| self.error(var, &value, accepts))
    }

    pub(super) fn number(
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

    /// A duration in seconds; decimals are allowed ("0.25") so tests can shrink windows.
    pub(super) fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.seconds_from(var, default, 0.001)
    }

    /// Like [`Env::seconds`], but 0 is accepted (meaning "off").
    pub(super) fn seconds_or_zero(
        &self,
        var: &'static str,
        default: u64,
    ) -> Result<Duration, ConfigError> {
        self.seconds_from(var, default, 0.0)
    }

    fn seconds_from(
        &self,
        var: &'static str,
        default: u64,
        min: f64,
    ) -> Result<Duration, ConfigError> {
        let accepts = format!("a number of seconds from {min} to {MAX_SECONDS}");
        self.parse_with(var, &default.to_string(), &accepts, |v| {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= min && *s <= MAX_SECONDS)
                .map(Duration::from_secs_f64)
        })
    }

    /// A rate such as a refill per minute; decimals allowed, must be positive.
    pub(super) fn positive(&self, var: &'static str, default: f64) -> Result<f64, ConfigError> {
        self.parse_with(var, &default.to_string(), "a positive number", |v| {
            v.parse::<f64>().ok().filter(|n| n.is_finite() && *n > 0.0)
        })
    }
}
