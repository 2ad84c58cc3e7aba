//! VerifyCode, Logout and LogoutAll.
use super::{
    Auth,
    limits::{Rpc, Subject},
    profile::ProfilePage,
};
use crate::{
    domain::{
        AuthError, Caller, ClientAddr, PhoneNumber, SessionToken, UnixMicros, VerificationCode,
    },
    store::{CodeCheck, Session},
    telemetry,
};

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: SessionToken,
    pub session_expires_at: UnixMicros,
    pub profile: ProfilePage,
    pub created: bool,
}

impl Auth {
    /// Exchanges a code for a session, registering the user on first login.
    ///
    /// Every attempt first reserves a slot of the phone's wrong-code budget, atomically, so
    /// that parallel guesses cannot overshoot it; a correct code gives its slot back. Past the
    /// budget even the right code is refused until the window frees.
    #[tracing::instrument(skip(self, code), fields(phone = %phone))]
    pub async fn verify_code(
        &self,
        phone: PhoneNumber,
        code: VerificationCode,
        client: ClientAddr,
    ) -> Result<LoggedIn, AuthError> {
        let wrong_code_slot = self
            .limits
            .admit(Rpc::VerifyCode, client, Subject::Phone(&phone))
            .await?;
        let digest = self.key.code_digest(&phone, &code);
        let checked = match self.codes.check(phone.as_e164(), digest).await {
            Ok(checked) => checked,
            Err(error) => {
                // The code was never judged: the guess must not cost the phone's budget.
                wrong_code_slot.refund().await;
                return Err(error);
            }
        };
        match checked {
            CodeCheck::Accepted => {
                metrics::counter!(telemetry::VERIFICATIONS, "result" => "success").increment(1);
                wrong_code_slot.refund().await
            }
            CodeCheck::Rejected { attempts_left } => {
                metrics::counter!(telemetry::VERIFICATIONS, "result" => "wrong_code").increment(1);
                tracing::info!(attempts_left, "wrong verification code");
                return Err(AuthError::WrongCode {
                    attempts_left: Some(attempts_left),
                });
            }
            // Answered like a wrong code so that callers cannot probe which phones have codes.
            CodeCheck::Missing => {
                metrics::counter!(telemetry::VERIFICATIONS, "result" => "wrong_code").increment(1);
                return Err(AuthError::WrongCode {
                    attempts_left: None,
                });
            }
        }
        let (user, created) = self
            .users
            .find_or_create(phone.as_e164(), self.clock.now())
            .await?;
        if created {
            tracing::info!(user_id = user.id, "registered a new user");
        }
        let token = SessionToken::generate();
        let session_expires_at = self.clock.after(self.policy.session_ttl);
        let session = Session {
            user_id: user.id,
            phone_number: phone.as_e164().into(),
            invite_code: Some(user.invite_code.clone()),
            expires_at: session_expires_at,
        };
        self.sessions
            .create(self.key.session_digest(&token), session)
            .await?;
        let profile = self.first_profile_page(user).await?;
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

    /// Revokes every session of the caller; returns how many there were.
    #[tracing::instrument(skip(self, caller), fields(user_id = caller.user_id))]
    pub async fn logout_all(&self, caller: &Caller) -> Result<u32, AuthError> {
        self.sessions.revoke_all(caller.user_id).await
    }
}
