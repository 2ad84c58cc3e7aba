//! Users in SQL. Uniqueness is enforced by the database (unique indexes), never by
//! check-then-write. Reads go through the [`UserCache`] when this process owns the data.
use std::sync::Arc;

use sqlx::FromRow;

use super::{
    database::{Database, db_error, is_unique_violation, on_pool},
    writer::{Writer, on_writer},
};
use crate::domain::{AuthError, InviteCode, Page, Referral, UnixMicros, User, UserId};
use crate::store::user_cache::{CachedProfile, UserCache, first_page_of};

/// Fresh invite codes tried before giving up; with 31^6 codes a collision is already rare.
const INVITE_CODE_ATTEMPTS: usize = 8;

/// A user with their inviter's code; `select_user!(" WHERE …")` appends the filter.
macro_rules! select_user {
    ($filter:literal) => {
        concat!(
            "SELECT u.id, u.phone_number, u.invite_code, i.invite_code AS invited_by, ",
            "u.referral_count, u.created_at FROM users u LEFT JOIN users i ON i.id = u.inviter_id",
            $filter
        )
    };
}

pub(super) const USER_BY_PHONE: &str = select_user!(" WHERE u.phone_number = $1");
pub(super) const USER_BY_ID: &str = select_user!(" WHERE u.id = $1");
pub(super) const USERS_AFTER: &str = select_user!(" WHERE u.id > $1 ORDER BY u.id LIMIT $2");

/// A registration: the new row comes back whole (a new user has no inviter and no referrals),
/// so registering is one statement. A phone conflict returns no row.
pub(super) const INSERT_USER: &str = "INSERT INTO users (phone_number, invite_code, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (phone_number) DO NOTHING \
     RETURNING id, phone_number, invite_code, CAST(NULL AS TEXT) AS invited_by, \
     referral_count, created_at";

#[derive(FromRow)]
pub(super) struct UserRow {
    id: i64,
    phone_number: String,
    invite_code: String,
    invited_by: Option<String>,
    referral_count: i64,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            phone_number: row.phone_number,
            invite_code: InviteCode::from_trusted(row.invite_code),
            invited_by: row.invited_by.map(InviteCode::from_trusted),
            referral_count: row.referral_count.max(0) as u64,
            created_at: row.created_at,
        }
    }
}

/// Queries on the users table.
#[derive(Clone)]
pub struct Users {
    pub(super) db: Database,
    pub(super) writer: Writer,
    pub(super) cache: Option<Arc<UserCache>>,
}

impl Users {
    /// `cache` must be given only when no other process writes the users table.
    pub fn new(db: Database, writer: Writer, cache: Option<UserCache>) -> Self {
        Self {
            db,
            writer,
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
        if let Some(cache) = &self.cache
            && let Some(profile) = cache.user_id(phone).and_then(|id| cache.profile(id))
        {
            return Ok((profile.user.clone(), false));
        }
        let generation = self.cache.as_ref().map(|cache| cache.generation());
        if let Some(user) = self.by_phone(phone).await? {
            // Without referrals the profile is the row alone: cache it for the next call.
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
            return Ok((user, false));
        }
        for _ in 0..INVITE_CODE_ATTEMPTS {
            let code = InviteCode::generate();
            let inserted: Result<Option<UserRow>, sqlx::Error> = on_writer!(&self.writer, conn => {
                sqlx::query_as(INSERT_USER)
                    .bind(phone)
                    .bind(code.as_str())
                    .bind(now)
                    .fetch_optional(conn)
                    .await
            });
            match inserted {
                Ok(Some(row)) => {
                    let user = User::from(row);
                    self.remember_phone(&user);
                    return Ok((user, true));
                }
                // Another request registered this phone first.
                Ok(None) => {
                    let user = self.by_phone(phone).await?.ok_or_else(|| {
                        AuthError::Internal(anyhow::anyhow!("user vanished after a phone conflict"))
                    })?;
                    return Ok((user, false));
                }
                // The phone conflict is absorbed above, so this is an invite-code collision.
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(db_error(e)),
            }
        }
        Err(AuthError::Internal(anyhow::anyhow!(
            "no free invite code after {INVITE_CODE_ATTEMPTS} attempts"
        )))
    }

    #[tracing::instrument(skip(self))]
    pub async fn by_phone(&self, phone: &str) -> Result<Option<User>, AuthError> {
        let row: Option<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(USER_BY_PHONE).bind(phone).fetch_optional(pool).await
        })
        .map_err(db_error)?;
        let user = row.map(User::from);
        if let Some(user) = &user {
            self.remember_phone(user);
        }
        Ok(user)
    }

    #[tracing::instrument(skip(self))]
    pub async fn by_id(&self, id: UserId) -> Result<User, AuthError> {
        let row: Option<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(USER_BY_ID).bind(id).fetch_optional(pool).await
        })
        .map_err(db_error)?;
        row.map(User::from).ok_or_else(|| {
            AuthError::Unauthenticated("the session's user no longer exists; log in again")
        })
    }

    /// The user `id` with their referrals after `after`, from memory when the cache holds it.
    #[tracing::instrument(skip(self))]
    pub async fn profile(
        &self,
        id: UserId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<(User, Page<Referral>), AuthError> {
        let Some(cache) = &self.cache else {
            let user = self.by_id(id).await?;
            let page = self.referrals_of(&user, after, limit).await?;
            return Ok((user, page));
        };
        let cached = match cache.profile(id) {
            Some(cached) => cached,
            None => {
                let generation = cache.generation();
                let user = self.by_id(id).await?;
                // Not `referrals_of`: the cache was just asked and has nothing for this user.
                let first_page = match user.referral_count {
                    0 => Page::empty(),
                    _ => self.referrals(id, None, cache.page_size()).await?,
                };
                let profile = Arc::new(CachedProfile { user, first_page });
                cache.fill(generation, profile.clone());
                profile
            }
        };
        let user = cached.user.clone();
        let page = match after {
            None => first_page_of(&cached.first_page, cache.page_size(), limit),
            Some(_) => None,
        };
        let page = match page {
            Some(page) => page,
            None => self.referrals(id, after, limit).await?,
        };
        Ok((user, page))
    }

    /// `user`'s referrals after `after`, skipping the query when they have none, and serving
    /// the first page from the cache when it holds it.
    pub async fn referrals_of(
        &self,
        user: &User,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Page<Referral>, AuthError> {
        if user.referral_count == 0 && after.is_none() {
            return Ok(Page::empty());
        }
        if after.is_none()
            && let Some(cache) = &self.cache
            && let Some(cached) = cache.profile(user.id)
            && let Some(page) = first_page_of(&cached.first_page, cache.page_size(), limit)
        {
            return Ok(page);
        }
        self.referrals(user.id, after, limit).await
    }

    /// All users by ascending id, after `after`.
    #[tracing::instrument(skip(self))]
    pub async fn list(&self, after: Option<UserId>, limit: u32) -> Result<Page<User>, AuthError> {
        let rows: Vec<UserRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(USERS_AFTER).bind(after.unwrap_or(0)).bind(i64::from(limit) + 1).fetch_all(pool).await
        })
        .map_err(db_error)?;
        Ok(paginate(
            rows.into_iter().map(User::from).collect(),
            limit,
            |u| u.id,
        ))
    }

    fn remember_phone(&self, user: &User) {
        if let Some(cache) = &self.cache {
            cache.remember_phone(&user.phone_number, user.id);
        }
    }
}

/// Trims the extra row fetched to learn whether another page follows.
pub(super) fn paginate<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> UserId) -> Page<T> {
    let next_after = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_after }
}
