//! RequestCode, VerifyCode and Logout.
use super::{Auth, deadline, page_size, profile::ProfilePage};
use crate::{
    domain::{
        AuthError, Caller, PhoneNumber, SessionToken, UnixMicros, VerificationCode, now_micros,
    },
    sms::{SmsError, SmsMessage, render_text},
    store::{CodeCheck, PendingCode, Session},
};

/// A code was sent.
#[derive(Debug)]
pub struct CodeSent {
    pub phone: PhoneNumber,
    pub expires_in_seconds: u32,
    pub resend_after_seconds: u32,
    /// The code, only when the sender is the development console sender.
    pub debug_code: Option<VerificationCode>,
}

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: SessionToken,
    pub session_expires_at: UnixMicros,
    pub profile: ProfilePage,
    pub created: bool,
}

impl Auth {
    /// Sends a fresh code to `phone`, replacing any earlier one. The code is stored only after
    /// the provider accepted the message, so a failed delivery leaves no usable code behind.
    #[tracing::instrument(skip(self), fields(phone = %phone))]
    pub async fn request_code(&self, phone: PhoneNumber) -> Result<CodeSent, AuthError> {
        let policy = &self.policy;
        let code = VerificationCode::generate(policy.code_length);
        let expires_at = deadline(policy.code_ttl);
        let message = SmsMessage {
            text: render_text(&policy.sms_template, &code, policy.code_ttl.as_secs()),
            phone,
            code,
            expires_at,
        };
        self.sms.send(&message).await.map_err(|error| match error {
            SmsError::Unavailable(source) | SmsError::Rejected(source) => AuthError::Unavailable {
                what: "SMS delivery",
                source: source.context(format!("sender {}", self.sms.name())),
            },
        })?;
        let SmsMessage { phone, code, .. } = message;
        let pending = PendingCode {
            digest: self.key.code_digest(&phone, &code),
            attempts_left: policy.max_code_attempts,
            expires_at,
        };
        self.codes.put(phone.as_e164(), pending).await?;
        Ok(CodeSent {
            expires_in_seconds: saturating_u32(policy.code_ttl.as_secs()),
            resend_after_seconds: saturating_u32(policy.resend_interval.as_secs()),
            debug_code: self.sms.reveals_code().then_some(code),
            phone,
        })
    }

    /// Exchanges a code for a session, registering the user on first login.
    #[tracing::instrument(skip(self, code), fields(phone = %phone))]
    pub async fn verify_code(
        &self,
        phone: PhoneNumber,
        code: VerificationCode,
    ) -> Result<LoggedIn, AuthError> {
        let digest = self.key.code_digest(&phone, &code);
        match self.codes.check(phone.as_e164(), digest).await? {
            CodeCheck::Accepted => {}
            CodeCheck::Rejected { attempts_left } => {
                return Err(AuthError::WrongCode {
                    attempts_left: Some(attempts_left),
                });
            }
            // Answered like a wrong code so that callers cannot probe which phones have codes.
            CodeCheck::Missing => {
                return Err(AuthError::WrongCode {
                    attempts_left: None,
                });
            }
        }
        let (user, created) = self
            .users
            .find_or_create(phone.as_e164(), now_micros())
            .await?;
        if created {
            tracing::info!(user_id = user.id, "registered a new user");
        }
        let token = SessionToken::generate();
        let session_expires_at = deadline(self.policy.session_ttl);
        let session = Session {
            user_id: user.id,
            phone_number: phone.as_e164().into(),
            expires_at: session_expires_at,
        };
        self.sessions
            .create(self.key.session_digest(&token), session)
            .await?;
        let profile = self.profile_of(user, None, page_size(0)).await?;
        Ok(LoggedIn {
            token,
            session_expires_at,
            profile,
            created,
        })
    }

    /// Revokes the session the caller authenticated with.
    #[tracing::instrument(skip(self, caller), fields(user_id = caller.user_id))]
    pub async fn logout(&self, caller: &Caller) -> Result<(), AuthError> {
        self.sessions.revoke(&caller.session).await
    }
}

fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
