//! `SERVICE_TOKENS`: the credentials of the backends and gateways that may call SessionService
//! and Envoy's ext_authz Check.
//!
//! Only SHA-256 digests are configured (`name:<64 hex digits>`), so the environment, `.env`
//! files and config dumps hold nothing a caller could replay. A presented token is hashed and
//! compared with every digest in constant time, and the match's name goes into logs and
//! metrics, so an operator sees which service called and can rotate one without the others.
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::{ConfigError, env::Env};

/// Shortest token accepted: 43 base64url characters carry 32 random bytes. A shorter token
/// is refused before it is hashed, whatever digest it might match.
pub const MIN_SERVICE_TOKEN_LEN: usize = 43;
/// Longest token hashed; longer ones are refused unread.
const MAX_SERVICE_TOKEN_LEN: usize = 512;
const MAX_NAME_LEN: usize = 32;

const ACCEPTS: &str = "comma-separated name:sha256hex pairs, e.g. \
    orders:<the 64 hex digits of `printf %s \"$TOKEN\" | sha256sum`>; names are 1-32 of \
    a-z 0-9 _ - and unique, digests unique";

/// The configured service credentials; empty when SERVICE_TOKENS is unset.
#[derive(Clone, Debug, Default)]
pub struct ServiceTokens(Arc<[ServiceToken]>);

#[derive(Clone)]
struct ServiceToken {
    name: Arc<str>,
    sha256: [u8; 32],
}

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceToken")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ServiceTokens {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let Some(value) = env.get("SERVICE_TOKENS") else {
            return Ok(Self::default());
        };
        let mut tokens: Vec<ServiceToken> = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            // Only the name is echoed: a raw token pasted by mistake must not reach a log.
            let (name, hex) = entry.split_once(':').unwrap_or((entry, ""));
            let refuse = |why: &str| {
                env.error(
                    "SERVICE_TOKENS",
                    &format!("{name}:<hidden>"),
                    &format!("{ACCEPTS} ({why})"),
                )
            };
            if name.is_empty()
                || name.len() > MAX_NAME_LEN
                || !name
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
            {
                return Err(refuse("bad name"));
            }
            let sha256 = parse_sha256_hex(hex).ok_or_else(|| refuse("not 64 hex digits"))?;
            if tokens.iter().any(|t| &*t.name == name) {
                return Err(refuse("name repeated"));
            }
            if tokens.iter().any(|t| t.sha256 == sha256) {
                return Err(refuse("digest repeated: give every service its own token"));
            }
            tokens.push(ServiceToken {
                name: name.into(),
                sha256,
            });
        }
        Ok(Self(tokens.into()))
    }

    /// Builds the set from `(name, token)` pairs (tests and examples); the tokens are hashed.
    pub fn from_plain<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let tokens: Vec<ServiceToken> = pairs
            .into_iter()
            .map(|(name, token)| ServiceToken {
                name: name.into(),
                sha256: Sha256::digest(token.as_bytes()).into(),
            })
            .collect();
        Self(tokens.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names configured, for the startup log.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|t| &*t.name)
    }

    /// The name of the service `presented` belongs to, if any. Every digest is compared, in
    /// constant time, so the timing tells neither which entry nor how much of it matched.
    pub fn identify(&self, presented: &str) -> Option<Arc<str>> {
        if !(MIN_SERVICE_TOKEN_LEN..=MAX_SERVICE_TOKEN_LEN).contains(&presented.len()) {
            return None;
        }
        let sha256: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for token in self.0.iter() {
            if bool::from(token.sha256.ct_eq(&sha256)) {
                found = Some(token.name.clone());
            }
        }
        found
    }
}

fn parse_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const TOKEN: &str = "orders-0123456789abcdefghijklmnopqrstuvwxyzABCD";

    fn read(value: &str) -> Result<ServiceTokens, ConfigError> {
        let vars = HashMap::from([("SERVICE_TOKENS".to_string(), value.to_string())]);
        let lookup = |name: &str| vars.get(name).cloned();
        ServiceTokens::from_env(&Env(&lookup))
    }

    fn sha256_hex(token: &str) -> String {
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_configured_digest_identifies_its_token_by_name() {
        let tokens = read(&format!(" orders:{} ", sha256_hex(TOKEN))).unwrap();
        assert_eq!(tokens.identify(TOKEN).as_deref(), Some("orders"));
        assert_eq!(tokens.identify(&format!("{TOKEN}x")), None);
        assert_eq!(
            tokens.identify(&sha256_hex(TOKEN)),
            None,
            "the digest is no token"
        );
    }

    #[test]
    fn short_tokens_never_match_even_when_their_digest_is_configured() {
        let short = "too-short-for-32-bytes";
        let tokens = read(&format!("weak:{}", sha256_hex(short))).unwrap();
        assert_eq!(tokens.identify(short), None);
    }

    #[test]
    fn bad_entries_name_the_variable_and_never_echo_the_secret_part() {
        let digest = sha256_hex(TOKEN);
        for value in [
            format!("orders:{TOKEN}"),
            "orders".to_string(),
            format!("Orders:{digest}"),
            format!(":{digest}"),
            format!("a:{digest},a:{}", sha256_hex("other")),
            format!("a:{digest},b:{digest}"),
            format!("orders:{}", &digest[..63]),
        ] {
            let error = read(&value).unwrap_err();
            assert_eq!(error.var, "SERVICE_TOKENS", "{value}");
            assert!(!error.to_string().contains(TOKEN), "{error}");
            assert!(!error.to_string().contains(&digest), "{error}");
        }
    }

    #[test]
    fn unset_means_no_service_may_call() {
        let vars: HashMap<String, String> = HashMap::new();
        let lookup = |name: &str| vars.get(name).cloned();
        let tokens = ServiceTokens::from_env(&Env(&lookup)).unwrap();
        assert!(tokens.is_empty());
        assert_eq!(tokens.identify(TOKEN), None);
    }
}
