//! What the users and referral-link queries share: the user row both read back, and the
//! keyset pagination both answer with. Kept apart so neither query file imports the other.
use sqlx::FromRow;

use crate::domain::{InviteCode, Page, User, UserId};

/// A user with their inviter's code, as every user query selects it.
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
