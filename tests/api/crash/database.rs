//! The crash test's look at the database itself, beside the server: what a restart found on
//! disk, read with a connection of the test's own.
use std::{collections::HashMap, str::FromStr};

use sqlx::{Connection, PgConnection, SqliteConnection, sqlite::SqliteConnectOptions};

use super::Acknowledged;
use crate::helpers::Backing;

/// One row of `users`: id, phone, invite code, inviter id, referral count.
type UserRow = (i64, String, String, Option<i64>, i64);

const USERS: &str =
    "SELECT id, phone_number, invite_code, inviter_id, referral_count FROM users ORDER BY id";

/// Asserts that the database is intact (SQLite's own checks; foreign keys on both), that each
/// user's referral_count is the number of users it invited, and that every acknowledged user
/// and link is there as it was answered.
pub async fn assert_consistent_and_holding(backing: &Backing, acknowledged: &[Acknowledged]) {
    let rows = match backing.database_url.starts_with("sqlite:") {
        true => sqlite_rows_after_its_checks(&backing.database_url).await,
        false => postgres_rows(&backing.database_url).await,
    };
    let users: HashMap<i64, &UserRow> = rows.iter().map(|row| (row.0, row)).collect();

    let mut referrals: HashMap<i64, i64> = HashMap::new();
    for (id, _, _, inviter_id, _) in &rows {
        if let Some(inviter_id) = inviter_id {
            assert!(
                users.contains_key(inviter_id),
                "user {id} names inviter {inviter_id}, who does not exist"
            );
            *referrals.entry(*inviter_id).or_default() += 1;
        }
    }
    for (id, _, _, _, referral_count) in &rows {
        let links = referrals.get(id).copied().unwrap_or(0);
        assert_eq!(
            *referral_count, links,
            "user {id} has referral_count {referral_count} but {links} users name them"
        );
    }

    for user in acknowledged {
        let Some((_, phone, invite_code, inviter_id, _)) = users.get(&user.user_id) else {
            panic!(
                "VerifyCode answered {user:?}, but after the restart there is no user {} \
                 ({} users in the database)",
                user.user_id,
                rows.len()
            );
        };
        assert_eq!(phone, &user.phone, "{user:?}");
        assert_eq!(invite_code, &user.invite_code, "{user:?}");
        if let Some((answered_inviter, _)) = &user.inviter {
            assert_eq!(
                inviter_id.as_ref(),
                Some(answered_inviter),
                "SetInviter answered {user:?}, but the link is not there"
            );
        }
    }
}

/// The users of the SQLite file, after `PRAGMA integrity_check` said ok and
/// `PRAGMA foreign_key_check` found nothing.
async fn sqlite_rows_after_its_checks(url: &str) -> Vec<UserRow> {
    let options = SqliteConnectOptions::from_str(url)
        .expect("a sqlite: URL")
        .read_only(true);
    let mut db = SqliteConnection::connect_with(&options)
        .await
        .expect("the test opens the SQLite file");
    let integrity: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut db)
        .await
        .expect("PRAGMA integrity_check");
    assert_eq!(integrity, [("ok".to_string(),)], "PRAGMA integrity_check");
    let dangling = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut db)
        .await
        .expect("PRAGMA foreign_key_check");
    assert!(
        dangling.is_empty(),
        "PRAGMA foreign_key_check found {} rows",
        dangling.len()
    );
    let rows = sqlx::query_as(USERS).fetch_all(&mut db).await.expect(USERS);
    let _ = db.close().await;
    rows
}

/// The users of the PostgreSQL database (its foreign keys are checked on the rows).
async fn postgres_rows(url: &str) -> Vec<UserRow> {
    let mut db = PgConnection::connect(url)
        .await
        .expect("the test connects to PostgreSQL");
    let rows = sqlx::query_as(USERS).fetch_all(&mut db).await.expect(USERS);
    let _ = db.close().await;
    rows
}
