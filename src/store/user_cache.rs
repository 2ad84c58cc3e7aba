//! Profiles held in memory when this process is the database's only writer (SQLite without
//! REDIS_URL): GetProfile and the login of a known phone then need no SQL at all. Only
//! [`CachedUsers`](super::CachedUsers) reads, fills and invalidates it.
//!
//! What is cached never goes stale silently: a phone's user id never changes (users are
//! neither deleted nor renumbered), and a profile changes only through SetInviter, which
//! invalidates both users it touches. A fill that raced such an invalidation is dropped (see
//! [`UserCache::fill`]). Rows edited by hand behind the service's back show after the TTL.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use moka::{policy::EvictionPolicy, sync::Cache};

use super::phone_index::PhoneIndex;
use crate::domain::{Page, Referral, User, UserId};

/// A user with the first page of their referrals, as read from the database.
#[derive(Clone, Debug)]
pub struct CachedProfile {
    pub user: User,
    /// The first `UserCache::page_size` referrals (or all of them, if fewer).
    pub first_page: Page<Referral>,
}

/// Rough bytes of one entry, beyond the data: moka's own bookkeeping per entry.
const ENTRY_OVERHEAD: u32 = 400;

/// The first profile pages by user id, and user ids by phone.
pub struct UserCache {
    profiles: Cache<UserId, Arc<CachedProfile>>,
    ids_by_phone: PhoneIndex,
    /// Rows cached per profile: requests for at most this many first referrals are served.
    page_size: u32,
    /// Bumped by every invalidation; a fill that started under an older generation may hold
    /// data read before that invalidation's write, so it is not stored. The mutex also makes
    /// "check the generation, then insert" atomic against "bump, then invalidate".
    generation: Mutex<u64>,
}

impl UserCache {
    /// A cache of about `max_bytes` in all (3/4 for profiles, 1/4 for phones), whose profiles
    /// live at most `ttl` (a phone's id never changes).
    pub fn new(max_bytes: u64, ttl: Duration, page_size: u32) -> Self {
        Self {
            // Least recently used goes first. moka's default (TinyLFU) admits a new entry into
            // a full cache only if it was asked for more often than the one it would evict, so
            // once full it turned away the profiles of users who had just logged in: the ones
            // their next calls ask for.
            profiles: Cache::builder()
                .eviction_policy(EvictionPolicy::lru())
                .max_capacity(max_bytes / 4 * 3)
                .weigher(|_, profile: &Arc<CachedProfile>| profile_weight(profile))
                .time_to_live(ttl)
                .build(),
            ids_by_phone: PhoneIndex::new(max_bytes / 4),
            page_size,
            generation: Mutex::new(0),
        }
    }

    pub(super) fn page_size(&self) -> u32 {
        self.page_size
    }

    pub(super) fn profile(&self, id: UserId) -> Option<Arc<CachedProfile>> {
        self.profiles.get(&id)
    }

    /// The id of the user with `phone`, if remembered. The pair never changes; still, check
    /// the phone of the profile found under the id before trusting it.
    pub(super) fn user_id(&self, phone: &str) -> Option<UserId> {
        self.ids_by_phone.get(phone)
    }

    /// Remembers a phone's user id; the pair never changes, so no generation is needed.
    pub(super) fn remember_phone(&self, phone: &str, id: UserId) {
        self.ids_by_phone.insert(phone, id);
    }

    /// The generation to pass to [`UserCache::fill`]; read it *before* reading the database.
    pub(super) fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a profile read from the database, unless an invalidation happened since
    /// `generation` was read (the read may predate that invalidation's write).
    pub(super) fn fill(&self, generation: u64, profile: Arc<CachedProfile>) {
        let current = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        if *current == generation {
            self.profiles.insert(profile.user.id, profile);
        }
    }

    /// Forgets the profiles of `users`; call it after the write that changed them committed.
    pub(super) fn invalidate(&self, users: &[UserId]) {
        let mut current = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        *current += 1;
        for id in users {
            self.profiles.invalidate(id);
        }
    }
}

fn profile_weight(profile: &CachedProfile) -> u32 {
    let user = &profile.user;
    let referrals: usize = profile
        .first_page
        .items
        .iter()
        .map(|r| 48 + r.phone_number.len())
        .sum();
    (ENTRY_OVERHEAD as usize + 96 + user.phone_number.len() + referrals)
        .try_into()
        .unwrap_or(u32::MAX)
}

/// The first `limit` referrals out of a cached first page of `cached_size` rows, or `None`
/// when the cached page is too short to answer for that `limit`.
pub fn first_page_of(
    cached: &Page<Referral>,
    cached_size: u32,
    limit: u32,
) -> Option<Page<Referral>> {
    if limit > cached_size {
        return None;
    }
    let limit = limit as usize;
    Some(if cached.items.len() > limit {
        let items = cached.items[..limit].to_vec();
        Page {
            next_after: items.last().map(|r| r.id),
            items,
        }
    } else {
        // All the rows up to `limit` are here; more follow only if the cached page said so.
        cached.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ids: std::ops::RangeInclusive<i64>, next_after: Option<i64>) -> Page<Referral> {
        Page {
            items: ids
                .map(|id| Referral {
                    id,
                    phone_number: format!("+7912000{id:04}"),
                    joined_at: id,
                    invited_at: id,
                })
                .collect(),
            next_after,
        }
    }

    fn ids(page: &Page<Referral>) -> Vec<i64> {
        page.items.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_shorter_page_is_cut_from_the_cached_one_and_points_past_its_end() {
        let cached = page(1..=5, Some(5));
        let cut = first_page_of(&cached, 5, 3).unwrap();
        assert_eq!(ids(&cut), [1, 2, 3]);
        assert_eq!(cut.next_after, Some(3));
    }

    #[test]
    fn a_page_as_long_as_the_cached_one_keeps_its_continuation() {
        let cached = page(1..=5, Some(5));
        let same = first_page_of(&cached, 5, 5).unwrap();
        assert_eq!(ids(&same), [1, 2, 3, 4, 5]);
        assert_eq!(same.next_after, Some(5));
        let all = page(1..=2, None);
        assert_eq!(first_page_of(&all, 5, 3).unwrap().next_after, None);
    }

    #[test]
    fn a_page_longer_than_the_cached_one_goes_to_the_database() {
        assert!(first_page_of(&page(1..=5, Some(5)), 5, 6).is_none());
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() {
        let cache = UserCache::new(1 << 20, Duration::from_secs(60), 5);
        let profile = |id| {
            Arc::new(CachedProfile {
                user: User {
                    id,
                    phone_number: "+79120000001".into(),
                    invite_code: crate::domain::InviteCode::from_trusted("ABCDEF".into()),
                    invited_by: None,
                    referral_count: 0,
                    created_at: 0,
                },
                first_page: Page::empty(),
            })
        };
        let before = cache.generation();
        cache.invalidate(&[1]);
        cache.fill(before, profile(1));
        assert!(cache.profile(1).is_none(), "stale read must not be cached");
        cache.fill(cache.generation(), profile(1));
        assert!(cache.profile(1).is_some());
        cache.invalidate(&[1]);
        assert!(cache.profile(1).is_none());
    }
}
