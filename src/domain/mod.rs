//! Domain values: parsed once at the edge, trusted everywhere inside.
mod client_addr;
mod clock;
mod error;
mod invite_code;
mod phone_number;
mod secret_key;
mod session_token;
mod user;
mod verification_code;

pub use client_addr::ClientAddr;
pub use clock::Clock;
pub use error::AuthError;
pub use invite_code::{InviteCode, InviteCodeError, LENGTH as INVITE_CODE_LENGTH};
pub use phone_number::{PhoneNumber, PhoneNumberError};
pub use secret_key::{Digest, MIN_SECRET_KEY_BYTES, SecretKey, SecretKeyTooShort};
pub use session_token::{MalformedSessionToken, SessionToken};
pub use user::{Caller, Page, Referral, UnixMicros, User, UserId};
pub use verification_code::{
    ALLOWED_LENGTHS as CODE_LENGTHS, VerificationCode, VerificationCodeError,
};
