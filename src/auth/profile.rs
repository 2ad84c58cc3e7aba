//! GetProfile, SetInviter and ListUsers.
use super::Auth;
use crate::{
    domain::{AuthError, Caller, InviteCode, Page, Referral, User, UserId},
    store::InviterChange,
    telemetry,
};

/// A user with one page of the users they invited.
#[derive(Debug)]
pub struct ProfilePage {
    pub user: User,
    pub referrals: Page<Referral>,
}

impl Auth {
    /// The caller's profile with the page of referrals after `after`.
    #[tracing::instrument(skip(self, caller), fields(user_id = caller.user_id))]
    pub async fn profile(
        &self,
        caller: &Caller,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<ProfilePage, AuthError> {
        let (user, referrals) = self.users.profile(caller.user_id, after, limit).await?;
        Ok(ProfilePage { user, referrals })
    }

    /// `user`'s profile with their first page of referrals.
    pub(crate) async fn first_profile_page(&self, user: User) -> Result<ProfilePage, AuthError> {
        let referrals = self
            .users
            .first_referrals(&user, super::page_size(0))
            .await?;
        Ok(ProfilePage { user, referrals })
    }

    /// Records who invited the caller; see [`InviterChange`] for the refusals.
    #[tracing::instrument(skip(self, caller), fields(user_id = caller.user_id))]
    pub async fn set_inviter(
        &self,
        caller: &Caller,
        code: InviteCode,
    ) -> Result<ProfilePage, AuthError> {
        match self
            .users
            .set_inviter(caller.user_id, &code, self.clock.now())
            .await?
        {
            InviterChange::Set { user, .. } => {
                metrics::counter!(telemetry::REFERRAL_LINKS).increment(1);
                tracing::info!(inviter_code = %code, "referral link created");
                self.first_profile_page(user).await
            }
            InviterChange::CodeNotFound => Err(AuthError::InviteCodeNotFound(code.to_string())),
            InviterChange::OwnCode => Err(AuthError::OwnInviteCode),
            InviterChange::AlreadySet(current) => Err(AuthError::InviterAlreadySet(current)),
            InviterChange::WouldCycle => Err(AuthError::InviterCycle(code)),
        }
    }

    /// One page of all users, for administrators only.
    #[tracing::instrument(skip(self, caller), fields(user_id = caller.user_id))]
    pub async fn list_users(
        &self,
        caller: &Caller,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Page<User>, AuthError> {
        if !self.is_admin(caller) {
            return Err(AuthError::PermissionDenied(
                "ListUsers is for administrators; add your phone to ADMIN_PHONES to use it",
            ));
        }
        self.users.list(after, limit).await
    }
}
