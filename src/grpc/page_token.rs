//! Opaque page tokens: the key after which the next page starts, wrapped so clients treat it
//! as a cookie, not a number to compute with.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::domain::{AuthError, UserId};

const PREFIX: &str = "after:";

pub fn encode(after: Option<UserId>) -> String {
    after
        .map(|id| URL_SAFE_NO_PAD.encode(format!("{PREFIX}{id}")))
        .unwrap_or_default()
}

/// Reads a token from the request field `field`; empty means the first page.
pub fn decode(token: &str, field: &'static str) -> Result<Option<UserId>, AuthError> {
    if token.is_empty() {
        return Ok(None);
    }
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(PREFIX)?.parse::<UserId>().ok())
        .filter(|id| *id > 0)
        .map(Some)
        .ok_or_else(|| AuthError::invalid(field, "is not a page token returned by this service"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(decode(&encode(Some(42)), "page_token").unwrap(), Some(42));
        assert_eq!(encode(None), "");
        assert_eq!(decode("", "page_token").unwrap(), None);
    }

    #[test]
    fn foreign_tokens_are_refused_naming_the_field() {
        for bad in [
            "42",
            "!!",
            &URL_SAFE_NO_PAD.encode("after:-1"),
            &URL_SAFE_NO_PAD.encode("after:x"),
        ] {
            let err = decode(bad, "page_token").unwrap_err();
            assert!(err.to_string().starts_with("page_token "), "{err}");
        }
    }
}
