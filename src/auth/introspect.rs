//! Introspect: a backend asks whose a user's session token is. The answer reads the same
//! session store as every authenticated RPC, so a logout on any instance shows at once. It
//! spends no rate budget: the caller is a service, and the user did nothing.
use super::Auth;
use crate::domain::{AuthError, InviteCode, SessionToken, UnixMicros, UserId};

/// An active session and whose it is.
#[derive(Clone, Debug)]
pub struct ActiveSession {
    pub user_id: UserId,
    /// In E.164.
    pub phone_number: String,
    pub invite_code: InviteCode,
    pub admin: bool,
    pub expires_at: UnixMicros,
}

impl Auth {
    /// The session `token` opens, or `None` when it is unknown, expired or revoked (alike, so
    /// callers cannot tell which). A store that fails is an error, never "inactive".
    #[tracing::instrument(skip_all)]
    pub async fn introspect(
        &self,
        token: &SessionToken,
    ) -> Result<Option<ActiveSession>, AuthError> {
        let digest = self.key.session_digest(token);
        let Some(session) = self.sessions.get(&digest).await? else {
            return Ok(None);
        };
        // Sessions carry the invite code, so this is one session read like any authenticated
        // call's. Only a Redis session from before that needs the profile (the cache answers
        // it without SQL when on; one referral is the smallest page it serves).
        let invite_code = match session.invite_code {
            Some(code) => code,
            None => {
                self.users
                    .profile(session.user_id, None, 1)
                    .await?
                    .0
                    .invite_code
            }
        };
        Ok(Some(ActiveSession {
            user_id: session.user_id,
            admin: self.policy.admin_phones.contains(&*session.phone_number),
            phone_number: session.phone_number.into(),
            invite_code,
            expires_at: session.expires_at,
        }))
    }
}
