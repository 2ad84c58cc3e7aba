//! Users and their referrals as the use cases see them: the plain SQL stores, read through the
//! profile cache when there is one. This wrapper is the only code that reads, fills or
//! invalidates the [`UserCache`], so its exactness rests on this file alone: fills carry the
//! generation read before the database, and SetInviter invalidates both users after commit.
use std::sync::Arc;

use super::{
    sql::{Database, InviterChange, ReferralLinks, Users, Writer},
    user_cache::{CachedProfile, UserCache, first_page_of},
};
use crate::domain::{AuthError, InviteCode, Page, Referral, UnixMicros, User, UserId};

/// The users store with the profile cache in front. Cheap to clone.
#[derive(Clone)]
pub struct CachedUsers {
    users: Users,
    links: ReferralLinks,
    /// `None` when the cache is off: PostgreSQL, Redis mode (other instances write too), or
    /// USER_CACHE_MB=0. Every read then goes to SQL.
    cache: Option<Arc<UserCache>>,
}

impl CachedUsers {
    /// `cache` must be given only when no other process writes the users table.
    pub fn new(db: Database, writer: Writer, cache: Option<UserCache>) -> Self {
        Self {
            users: Users::new(db.clone(), writer.clone()),
            links: ReferralLinks::new(db, writer),
            cache: cache.map(Arc::new),
        }
    }

    /// The user with this phone, registering them if new. Returns whether they were created.
    /// Concurrent calls for one phone create one user (the phone's unique index decides).
    #[tracing::instrument(skip(self))]
    pub async fn find_or_create(
        &self,
        phone: &str,
        now: UnixMicros,
    ) -> Result<(User, bool), AuthError> {
        // A known phone: its profile from the cache, or read by id (no write) and cached.
        // Anything unexpected (a profile under another phone, a read failing) falls through to
        // the registrar, which settles it either way.
        if let Some(cache) = &self.cache
            && let Some(id) = cache.user_id(phone)
            && let Ok(profile) = self.cached_profile(cache, id).await
            && *profile.user.phone_number == *phone
        {
            return Ok((profile.user.clone(), false));
        }
        let generation = self.cache.as_ref().map(|cache| cache.generation());
        let (user, created) = self.users.find_or_register(phone, now).await?;
        self.remember_phone(&user);
        // Without referrals the profile is the row alone (a new user's always is): cache it
        // for the next call.
        if let (Some(cache), Some(generation)) = (&self.cache, generation)
            && user.referral_count == 0
        {
            cache.fill(
                generation,
                Arc::new(CachedProfile {
                    user: user.clone(),
                    first_page: Page::empty(),
                }),
            );
        }
        Ok((user, created))
    }

    /// The user `id` with their referrals after `after`, from memory when the cache holds it.
    /// With the cache on, a miss reads the profile and caches it.
    #[tracing::instrument(skip(self))]
    pub async fn profile(
        &self,
        id: UserId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<(User, Page<Referral>), AuthError> {
        let cached = match &self.cache {
            Some(cache) => Some(self.cached_profile(cache, id).await?),
            None => None,
        };
        let user = match &cached {
            Some(cached) => cached.user.clone(),
            None => self.users.by_id(id).await?,
        };
        let page = match after {
            // With the cache on, user and page come from one snapshot: the count fits the page.
            None => self.first_page(&user, cached.as_deref(), limit).await?,
            Some(_) => self.links.referrals(id, after, limit).await?,
        };
        Ok((user, page))
    }

    /// The first `limit` referrals of `user` (just read or just linked), for the answers of
    /// VerifyCode and SetInviter. Uses the cached profile if there is one, but never fills it.
    pub async fn first_referrals(
        &self,
        user: &User,
        limit: u32,
    ) -> Result<Page<Referral>, AuthError> {
        let cached = self.cache.as_ref().and_then(|cache| cache.profile(user.id));
        self.first_page(user, cached.as_deref(), limit).await
    }

    /// Links `user` to the owner of `code`, once (see [`ReferralLinks::set_inviter`]). After
    /// the link commits, both users' cached profiles are forgotten: the invitee's inviter and
    /// the inviter's count and first page changed. (The SQL call carries the span.)
    pub async fn set_inviter(
        &self,
        user: UserId,
        code: &InviteCode,
        now: UnixMicros,
    ) -> Result<InviterChange, AuthError> {
        let change = self.links.set_inviter(user, code, now).await?;
        if let (Some(cache), InviterChange::Set { user, inviter }) = (&self.cache, &change) {
            cache.invalidate(&[user.id, *inviter]);
        }
        Ok(change)
    }

    /// All users by ascending id, after `after`; never cached (administrators only).
    pub async fn list(&self, after: Option<UserId>, limit: u32) -> Result<Page<User>, AuthError> {
        self.users.list(after, limit).await
    }

    /// The one path to a first page of referrals: none when `user` has none, cut from
    /// `cached` (the user's cached profile) when that is long enough, from SQL otherwise.
    async fn first_page(
        &self,
        user: &User,
        cached: Option<&CachedProfile>,
        limit: u32,
    ) -> Result<Page<Referral>, AuthError> {
        if user.referral_count == 0 {
            return Ok(Page::empty());
        }
        if let (Some(cache), Some(cached)) = (&self.cache, cached)
            && let Some(page) = first_page_of(&cached.first_page, cache.page_size(), limit)
        {
            return Ok(page);
        }
        self.links.referrals(user.id, None, limit).await
    }

    /// `id`'s cached profile, or on a miss the profile read from SQL and cached, unless an
    /// invalidation raced the read (see [`UserCache::fill`]).
    async fn cached_profile(
        &self,
        cache: &UserCache,
        id: UserId,
    ) -> Result<Arc<CachedProfile>, AuthError> {
        if let Some(cached) = cache.profile(id) {
            return Ok(cached);
        }
        let generation = cache.generation();
        let user = self.users.by_id(id).await?;
        // `None`: the cache was just asked and has nothing for this user.
        let first_page = self.first_page(&user, None, cache.page_size()).await?;
        let profile = Arc::new(CachedProfile { user, first_page });
        cache.fill(generation, profile.clone());
        Ok(profile)
    }

    fn remember_phone(&self, user: &User) {
        if let Some(cache) = &self.cache {
            cache.remember_phone(&user.phone_number, user.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{super::sql::scratch, *};

    /// The login of a phone whose profile is cached reads nothing from SQL: it still answers
    /// once the database is closed.
    #[tokio::test]
    async fn a_repeat_login_is_answered_from_the_cache_without_sql() {
        let (_dir, db, writer) = scratch::sqlite().await;
        let cache = UserCache::new(1 << 20, Duration::from_secs(600), 10);
        let users = CachedUsers::new(db.clone(), writer.clone(), Some(cache));
        let (first, created) = users.find_or_create("+79130000001", 1).await.unwrap();
        assert!(created);
        writer.close().await;
        db.close().await;
        let (again, created) = users.find_or_create("+79130000001", 2).await.unwrap();
        assert!(!created);
        assert_eq!(again, first);
        assert!(
            users.find_or_create("+79130000002", 2).await.is_err(),
            "a phone the cache does not know needs the database"
        );
    }

    /// A known phone whose profile left the cache is read by id, not registered again.
    #[tokio::test]
    async fn a_known_phone_without_a_cached_profile_is_read_by_id() {
        let (_dir, db, writer) = scratch::sqlite().await;
        let cache = UserCache::new(1 << 20, Duration::from_secs(600), 10);
        let users = CachedUsers::new(db.clone(), writer.clone(), Some(cache));
        let (first, _) = users.find_or_create("+79130000001", 1).await.unwrap();
        users.cache.as_ref().unwrap().invalidate(&[first.id]);
        // The writer is closed: only a read can answer.
        writer.close().await;
        let (again, created) = users.find_or_create("+79130000001", 2).await.unwrap();
        assert!(!created);
        assert_eq!(again, first);
        assert!(users.cache.as_ref().unwrap().profile(first.id).is_some());
    }
}
