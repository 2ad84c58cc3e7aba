//! Compact in-memory forms of what the single-node stores hold a million of: an E.164 number as
//! the integer of its digits (E.164 has at most 15 digits and no leading zero, so the integer
//! gives the number back exactly), and a session as 32 bytes with nothing on the heap.
use crate::{
    domain::{AuthError, INVITE_CODE_LENGTH, InviteCode, UnixMicros, UserId},
    store::Session,
};

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
