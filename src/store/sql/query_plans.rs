//! Every query the service runs is served by an index: checked with SQLite's EXPLAIN QUERY
//! PLAN on the migrated schema, so that a query edit that falls back to scanning `users` fails
//! here rather than at a million users.
use super::{
    Database,
    linker::{DIAGNOSE, LINK},
    referral_links::REFERRALS_AFTER,
    users::{INSERT_USERS, RETURNING_NEW_USER, USER_BY_ID, USERS_AFTER, USERS_BY_PHONES},
};

/// The plan's lines ("SEARCH u USING INDEX …", "SCAN chain", …) for `sql`, with every
/// `$N` bound to NULL (the plan does not depend on the values).
async fn plan(pool: &sqlx::SqlitePool, sql: &str) -> Vec<String> {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let params = (1..=9).filter(|n| sql.contains(&format!("${n}"))).count();
    let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
    for _ in 0..params {
        query = query.bind(None::<i64>);
    }
    query
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("cannot explain {sql}: {e}"))
        .into_iter()
        .map(|(.., detail)| detail)
        .collect()
}

/// A full scan of the users table (under any alias) is what must never appear.
fn scans_users(lines: &[String]) -> bool {
    lines.iter().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("SCAN")
            && matches!(words.next(), Some("users" | "u" | "i"))
            && !line.contains("USING")
    })
}

#[tokio::test]
async fn every_query_is_served_by_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("plans.db").display()
    );
    let Database::Sqlite(pool) = Database::connect(&url, 1, std::time::Duration::from_secs(5))
        .await
        .unwrap()
    else {
        unreachable!("an sqlite: URL opens SQLite")
    };
    // Batches as the registrar writes them, two calls long.
    let users_by_phones = format!("{USERS_BY_PHONES}$1, $2)");
    let register = format!("{INSERT_USERS}VALUES ($1, $2, $3), ($4, $5, $6){RETURNING_NEW_USER}");
    let queries = [
        (
            "users by phones",
            users_by_phones.as_str(),
            "sqlite_autoindex_users_1",
        ),
        ("user by id", USER_BY_ID, "INTEGER PRIMARY KEY"),
        ("users after an id", USERS_AFTER, "INTEGER PRIMARY KEY"),
        (
            "referrals after an id",
            REFERRALS_AFTER,
            "users_inviter_id_id",
        ),
        ("link an inviter", LINK, "sqlite_autoindex_users_2"),
        (
            "diagnose a refused link",
            DIAGNOSE,
            "sqlite_autoindex_users_2",
        ),
        ("register", register.as_str(), ""),
    ];
    for (name, sql, expected_index) in queries {
        let lines = plan(&pool, sql).await;
        assert!(!scans_users(&lines), "{name} scans users: {lines:#?}");
        assert!(
            lines.iter().any(|l| l.contains(expected_index)),
            "{name} does not use {expected_index}: {lines:#?}"
        );
    }
}
