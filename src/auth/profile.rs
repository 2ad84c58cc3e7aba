//! GetProfile, SetInviter and ListUsers.
use super::{
    Auth,
    limits::{Rpc, Subject},
};
use crate::{
    domain::{AuthError, Caller, ClientAddr, InviteCode, Page, Referral, User, UserId},
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
        Ok(self.page(user, referrals))
    }

    /// `user`'s profile with their first page of referrals.
    pub(crate) async fn first_profile_page(&self, user: User) -> Result<ProfilePage, AuthError> {
        let referrals = self
            .users
            .first_referrals(&user, super::page_size(0))
            .await?;
        Ok(self.page(user, referrals))
    }

    /// The page as answered: referrals' phones masked when REFERRAL_PHONES=masked.
    fn page(&self, user: User, mut referrals: Page<Referral>) -> ProfilePage {
        if self.policy.limits.mask_referral_phones {
            for referral in &mut referrals.items {
                referral.phone_number = mask_phone(&referral.phone_number);
            }
        }
        ProfilePage { user, referrals }
    }

    /// Records who invited the caller; see [`InviterChange`] for the refusals. Each call is a
    /// guess at an invite code, so it spends the caller's and the address's SetInviter limits.
    #[tracing::instrument(skip(self, caller), fields(user_id = caller.user_id))]
    pub async fn set_inviter(
        &self,
        caller: &Caller,
        code: InviteCode,
        client: ClientAddr,
    ) -> Result<ProfilePage, AuthError> {
        let subject = Subject::User(caller.user_id);
        let charge = self.limits.admit(Rpc::SetInviter, client, subject).await?;
        let change = match self
            .users
            .set_inviter(caller.user_id, &code, self.clock.now())
            .await
        {
            Ok(change) => change,
            Err(error) => {
                // The guess was never judged: it must not cost the caller's budget.
                charge.refund().await;
                return Err(error);
            }
        };
        match change {
            InviterChange::Set { user, .. } => {
                metrics::counter!(telemetry::REFERRAL_LINKS).increment(1);
                tracing::info!(inviter_code = %code, "referral link created");
                self.first_profile_page(user).await
            }
            InviterChange::CodeNotFound => Err(AuthError::InviteCodeNotFound(Some(code))),
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

/// `+79123456789` as `+7912*****89`: the country code and the next digits up to four, the last
/// two, and a star for each digit between, so that at least half of the number is hidden.
fn mask_phone(e164: &str) -> String {
    let digits: Vec<char> = e164.trim_start_matches('+').chars().collect();
    let shown_tail = 2.min(digits.len());
    let shown_head = 4.min(digits.len().saturating_sub(shown_tail) / 2);
    let hidden = digits.len() - shown_head - shown_tail;
    let mut masked = String::with_capacity(e164.len());
    masked.push('+');
    masked.extend(&digits[..shown_head]);
    masked.extend(std::iter::repeat_n('*', hidden));
    masked.extend(&digits[shown_head + hidden..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::mask_phone;

    #[test]
    fn masked_phones_keep_the_country_a_few_digits_and_the_last_two() {
        assert_eq!(mask_phone("+79123456789"), "+7912*****89");
        assert_eq!(mask_phone("+14155550123"), "+1415*****23");
        assert_eq!(mask_phone("+4930123"), "+49***23");
    }
}
