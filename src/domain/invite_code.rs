//! Invite codes: short, unambiguous, case-insensitive.
use std::fmt;

use rand::Rng;

/// Characters of an invite code: digits and capitals without the look-alikes 0/O and 1/I/L,
/// so a code read aloud or off a screen is typed right the first time.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of every invite code.
pub const LENGTH: usize = 6;

/// A well-formed invite code, stored and compared in upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InviteCode(String);

/// Why a string is not an invite code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteCodeError {
    #[error("is required")]
    Empty,
    #[error("must be {LENGTH} characters from {}", std::str::from_utf8(ALPHABET).unwrap_or_default())]
    Malformed,
}

impl InviteCode {
    /// Reads user input: surrounding spaces are trimmed and case is ignored.
    pub fn parse(input: &str) -> Result<Self, InviteCodeError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(InviteCodeError::Empty);
        }
        let upper = trimmed.to_ascii_uppercase();
        if upper.len() != LENGTH || !upper.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(InviteCodeError::Malformed);
        }
        Ok(Self(upper))
    }

    /// A fresh random code from a cryptographically secure generator. Uniqueness is the
    /// database's job: the caller retries on a unique-constraint collision.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let code = (0..LENGTH)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Self(code)
    }

    /// Wraps a code read back from our own database.
    pub(crate) fn from_trusted(code: String) -> Self {
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn input_is_trimmed_and_upper_cased() {
        assert_eq!(InviteCode::parse("  ab3def ").unwrap().as_str(), "AB3DEF");
    }

    #[test]
    fn look_alike_characters_are_refused() {
        for bad in ["AB0DEF", "ABODEF", "AB1DEF", "ABIDEF", "ABLDEF"] {
            assert_eq!(
                InviteCode::parse(bad),
                Err(InviteCodeError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(InviteCode::parse(" "), Err(InviteCodeError::Empty));
        assert_eq!(
            InviteCode::parse("ABCDEFG"),
            Err(InviteCodeError::Malformed)
        );
    }

    #[test]
    fn generated_codes_parse_back() {
        for _ in 0..1000 {
            let code = InviteCode::generate();
            assert_eq!(InviteCode::parse(code.as_str()).unwrap(), code);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic_and_accepted_ones_are_canonical(input in ".{0,12}") {
            if let Ok(code) = InviteCode::parse(&input) {
                prop_assert_eq!(InviteCode::parse(code.as_str()).unwrap(), code.clone());
                prop_assert_eq!(code.as_str().len(), LENGTH);
            }
        }
    }
}
