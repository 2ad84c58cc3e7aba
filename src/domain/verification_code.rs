//! One-time verification codes sent by SMS.
use rand::Rng;

/// Code lengths the service accepts in CODE_LENGTH.
pub const ALLOWED_LENGTHS: std::ops::RangeInclusive<usize> = 4..=8;

/// A string of ASCII digits of the configured length. Its `Debug` hides the digits so a code
/// can never reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

/// Why a string is not a verification code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerificationCodeError {
    #[error("is required")]
    Empty,
    #[error("must be {0} digits")]
    Malformed(usize),
}

impl VerificationCode {
    /// A fresh code of `length` digits, each drawn uniformly from a CSPRNG.
    pub fn generate(length: usize) -> Self {
        let mut rng = rand::rng();
        Self(
            (0..length)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect(),
        )
    }

    /// Reads user input: surrounding spaces are ignored, anything but `length` digits is refused.
    pub fn parse(input: &str, length: usize) -> Result<Self, VerificationCodeError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(VerificationCodeError::Empty);
        }
        if trimmed.len() != length || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VerificationCodeError::Malformed(length));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The digits; call only to deliver the code or to hash it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_have_the_requested_length_and_only_digits() {
        for length in ALLOWED_LENGTHS {
            let code = VerificationCode::generate(length);
            assert_eq!(code.expose().len(), length);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn generated_codes_cover_every_digit() {
        let digits: std::collections::HashSet<u8> = (0..200)
            .flat_map(|_| {
                VerificationCode::generate(4)
                    .expose()
                    .bytes()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(digits.len(), 10);
    }

    #[test]
    fn parse_refuses_wrong_lengths_and_letters() {
        assert!(VerificationCode::parse(" 1234 ", 4).is_ok());
        assert_eq!(
            VerificationCode::parse("", 4),
            Err(VerificationCodeError::Empty)
        );
        assert_eq!(
            VerificationCode::parse("123", 4),
            Err(VerificationCodeError::Malformed(4))
        );
        assert_eq!(
            VerificationCode::parse("12a4", 4),
            Err(VerificationCodeError::Malformed(4))
        );
        assert_eq!(
            VerificationCode::parse("١٢٣٤", 4),
            Err(VerificationCodeError::Malformed(4))
        );
    }

    #[test]
    fn debug_output_hides_the_digits() {
        let code = VerificationCode::parse("1234", 4).unwrap();
        assert!(!format!("{code:?}").contains("1234"));
    }
}
