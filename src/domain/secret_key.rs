//! The server secret (SECRET_KEY) and the keyed digests made with it.
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{PhoneNumber, SessionToken, VerificationCode};

/// Minimum SECRET_KEY length in bytes (256 bits).
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// A keyed HMAC-SHA256 digest. Equality is constant-time.
#[derive(Clone, Copy)]
pub struct Digest(pub [u8; 32]);

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for Digest {}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digest(***)")
    }
}

/// The server's secret key. Codes and session tokens are only ever stored as HMACs under it, so
/// a dump of memory or of a shared store yields nothing a client could replay.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

#[derive(Debug, thiserror::Error)]
#[error(
    "must be at least {MIN_SECRET_KEY_BYTES} bytes (got {0}); generate one with `openssl rand -base64 48`"
)]
pub struct SecretKeyTooShort(usize);

impl SecretKey {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretKeyTooShort> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_KEY_BYTES {
            return Err(SecretKeyTooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// A random key for development runs; everything keyed with it dies with the process.
    pub fn ephemeral() -> Self {
        use rand::RngCore;
        let mut bytes = vec![0u8; 48];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Digest of a code bound to the phone it was sent to (domain-separated from tokens).
    pub fn code_digest(&self, phone: &PhoneNumber, code: &VerificationCode) -> Digest {
        self.digest(&[
            b"code\0",
            phone.as_e164().as_bytes(),
            b"\0",
            code.expose().as_bytes(),
        ])
    }

    /// Digest under which a session is stored and looked up.
    pub fn session_digest(&self, token: &SessionToken) -> Digest {
        self.digest(&[b"session\0", token.as_bytes()])
    }

    /// The CSRF token that goes with a session held in a browser cookie (signed double submit):
    /// a page proves it can read its own origin's cookies, which another site cannot.
    pub fn csrf_digest(&self, token: &SessionToken) -> Digest {
        self.digest(&[b"csrf\0", token.as_bytes()])
    }

    fn digest(&self, parts: &[&[u8]]) -> Digest {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        Digest(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        assert!(SecretKey::new(vec![0u8; 31]).is_err());
        assert!(SecretKey::new(vec![0u8; 32]).is_ok());
    }

    #[test]
    fn code_digests_depend_on_key_phone_and_code() {
        let phone = PhoneNumber::parse("+79123456789", phonenumber::country::RU).unwrap();
        let other = PhoneNumber::parse("+79123456780", phonenumber::country::RU).unwrap();
        let code = VerificationCode::parse("1234", 4).unwrap();
        let key = SecretKey::new(vec![7u8; 32]).unwrap();
        let digest = key.code_digest(&phone, &code);
        assert_eq!(digest, key.code_digest(&phone, &code));
        assert_ne!(digest, key.code_digest(&other, &code));
        assert_ne!(
            digest,
            key.code_digest(&phone, &VerificationCode::parse("1235", 4).unwrap())
        );
        assert_ne!(
            digest,
            SecretKey::new(vec![8u8; 32])
                .unwrap()
                .code_digest(&phone, &code)
        );
    }
}
