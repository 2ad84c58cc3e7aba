//! Opaque bearer tokens that identify a session.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;

/// Random bytes in a token: 256 bits, well above the 128-bit floor.
const TOKEN_BYTES: usize = 32;

/// A session token: 32 bytes from a CSPRNG, shown as 43 characters of unpadded base64url.
/// Servers keep only a keyed digest of it (see [`super::SecretKey::session_digest`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken([u8; TOKEN_BYTES]);

/// Why a string is not a session token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a session token issued by this service")]
pub struct MalformedSessionToken;

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn parse(input: &str) -> Result<Self, MalformedSessionToken> {
        let mut bytes = [0u8; TOKEN_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(input.trim(), &mut bytes) {
            Ok(TOKEN_BYTES) => Ok(Self(bytes)),
            _ => Err(MalformedSessionToken),
        }
    }

    /// The token as the client sends it; hand it only to the client it belongs to.
    pub fn expose(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_differ() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(SessionToken::parse(&a.expose()).unwrap(), a);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "abc", &"A".repeat(44), "!!!!", &"A".repeat(42)] {
            assert_eq!(
                SessionToken::parse(bad),
                Err(MalformedSessionToken),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_output_hides_the_token() {
        let token = SessionToken::generate();
        assert!(!format!("{token:?}").contains(&token.expose()));
    }
}
