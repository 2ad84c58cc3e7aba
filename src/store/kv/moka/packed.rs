//! Compact in-memory forms of what the single-node stores hold a million of: an E.164 number as
//! the integer of its digits (E.164 has at most 15 digits and no leading zero, so the integer
//! gives the number back exactly), a session as 32 bytes with nothing on the heap, and a
//! pending code as 32 bytes.
use subtle::ConstantTimeEq;

use crate::{
    domain::{AuthError, Digest, INVITE_CODE_LENGTH, InviteCode, UnixMicros, UserId},
    store::{PendingCode, Session},
};

/// Bytes of a code's HMAC kept in memory: the first half. A wrong guess matches them by chance
/// with probability 2^-128, and a phone has a handful of guesses per code.
const CODE_DIGEST_BYTES: usize = 16;

/// A pending code as the moka store keeps it: 32 bytes where a [`PendingCode`] is 48, which
/// puts moka's entry for it in a smaller allocation class (~24 B less per code).
#[derive(Clone, Copy, Debug)]
pub struct PackedCode {
    digest: [u8; CODE_DIGEST_BYTES],
    pub attempts_left: u32,
    pub expires_at: UnixMicros,
}

impl PackedCode {
    pub fn pack(code: &PendingCode) -> Self {
        let mut digest = [0; CODE_DIGEST_BYTES];
        digest.copy_from_slice(&code.digest.0[..CODE_DIGEST_BYTES]);
        Self {
            digest,
            attempts_left: code.attempts_left,
            expires_at: code.expires_at,
        }
    }

    /// Whether `digest` is this code's, compared in constant time.
    pub fn matches(&self, digest: &Digest) -> bool {
        self.digest.ct_eq(&digest.0[..CODE_DIGEST_BYTES]).into()
    }
}

/// `+79130000001` as 79130000001.
pub fn phone_key(e164: &str) -> Result<u64, AuthError> {
    e164.strip_prefix('+')
        .filter(|digits| (1..=15).contains(&digits.len()) && !digits.starts_with('0'))
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| AuthError::Internal(anyhow::anyhow!("not an E.164 number: {e164:?}")))
}

fn phone_of(key: u64) -> Box<str> {
    format!("+{key}").into()
}

/// A session as the moka store keeps it (56 B and two heap blocks as a [`Session`]).
#[derive(Clone, Copy, Debug)]
pub struct PackedSession {
    pub user_id: UserId,
    phone: u64,
    pub expires_at: UnixMicros,
    /// All zero for none (zero is not in the invite code alphabet).
    invite_code: [u8; INVITE_CODE_LENGTH],
}

impl PackedSession {
    pub fn pack(session: &Session) -> Result<Self, AuthError> {
        let mut invite_code = [0; INVITE_CODE_LENGTH];
        if let Some(code) = &session.invite_code {
            invite_code.copy_from_slice(code.as_str().as_bytes());
        }
        Ok(Self {
            user_id: session.user_id,
            phone: phone_key(&session.phone_number)?,
            expires_at: session.expires_at,
            invite_code,
        })
    }

    pub fn unpack(&self) -> Session {
        let invite_code = (self.invite_code != [0; INVITE_CODE_LENGTH]).then(|| {
            InviteCode::from_trusted(self.invite_code.iter().map(|&b| b as char).collect())
        });
        Session {
            user_id: self.user_id,
            phone_number: phone_of(self.phone),
            invite_code,
            expires_at: self.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_packs_into_32_bytes_and_back() {
        assert_eq!(size_of::<PackedSession>(), 32);
        for invite_code in [None, Some(InviteCode::parse("XYZ234").unwrap())] {
            let session = Session {
                user_id: 42,
                phone_number: "+447700900123".into(),
                invite_code,
                expires_at: 1_700_000_000_000_000,
            };
            assert_eq!(PackedSession::pack(&session).unwrap().unpack(), session);
        }
    }

    #[test]
    fn a_code_packs_into_32_bytes_and_matches_only_its_digest() {
        assert_eq!(size_of::<PackedCode>(), 32);
        let digest = Digest([7; 32]);
        let code = PackedCode::pack(&PendingCode {
            digest,
            attempts_left: 5,
            expires_at: 9,
        });
        assert!(code.matches(&digest));
        let mut other = [7; 32];
        other[15] = 8;
        assert!(!code.matches(&Digest(other)));
        assert_eq!((code.attempts_left, code.expires_at), (5, 9));
    }

    #[test]
    fn only_e164_numbers_have_a_key() {
        assert_eq!(phone_key("+1").unwrap(), 1);
        assert_eq!(phone_key("+999999999999999").unwrap(), 999_999_999_999_999);
        for bad in [
            "",
            "+",
            "79130000001",
            "+0123",
            "+1234567890123456",
            "+12a4",
            "+-1",
        ] {
            assert!(phone_key(bad).is_err(), "{bad:?}");
        }
    }
}
