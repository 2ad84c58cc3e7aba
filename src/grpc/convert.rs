//! Domain values out to proto messages. Proto types go no further in than this module.
use prost_types::Timestamp;

use super::page_token;
use crate::{
    auth::ProfilePage,
    domain::{Referral, UnixMicros, User},
    proto as pb,
};

pub fn timestamp(micros: UnixMicros) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    })
}

impl From<ProfilePage> for pb::Profile {
    fn from(page: ProfilePage) -> Self {
        let ProfilePage { user, referrals } = page;
        pb::Profile {
            user_id: user.id,
            phone_number: user.phone_number,
            invite_code: user.invite_code.to_string(),
            invited_by: user.invited_by.map(|c| c.to_string()).unwrap_or_default(),
            referrals: referrals.items.into_iter().map(Into::into).collect(),
            referral_count: user.referral_count,
            created_at: timestamp(user.created_at),
            next_referrals_page_token: page_token::encode(referrals.next_after),
        }
    }
}

impl From<Referral> for pb::Referral {
    fn from(referral: Referral) -> Self {
        pb::Referral {
            phone_number: referral.phone_number,
            joined_at: timestamp(referral.joined_at),
            invited_at: timestamp(referral.invited_at),
        }
    }
}

impl From<User> for pb::User {
    fn from(user: User) -> Self {
        pb::User {
            user_id: user.id,
            phone_number: user.phone_number,
            invite_code: user.invite_code.to_string(),
            invited_by: user.invited_by.map(|c| c.to_string()).unwrap_or_default(),
            created_at: timestamp(user.created_at),
            referral_count: user.referral_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_split_micros_into_seconds_and_nanos() {
        let ts = timestamp(1_700_000_000_123_456).unwrap();
        assert_eq!((ts.seconds, ts.nanos), (1_700_000_000, 123_456_000));
        let before_epoch = timestamp(-1).unwrap();
        assert_eq!(
            (before_epoch.seconds, before_epoch.nanos),
            (-1, 999_999_000)
        );
    }
}
