//! SetInviter under concurrency: the database must referee, not a check-then-write.
use sqlx::{Connection, Executor, PgConnection};
use tonic::Code;

use crate::helpers::{
    Backing, LoggedIn, SharedStore, TestApp, all_at_once, phone, requires_shared_stores,
};

async fn set_concurrently(
    app: &TestApp,
    calls: Vec<(&LoggedIn, String)>,
) -> Vec<Result<phone_auth::proto::Profile, tonic::Status>> {
    all_at_once(calls.into_iter().map(|(user, code)| {
        let mut client = app.client.clone();
        let token = user.token.clone();
        async move {
            client
                .set_inviter(crate::helpers::authed(
                    &token,
                    phone_auth::proto::SetInviterRequest { invited_by: code },
                ))
                .await
                .map(|r| r.into_inner())
        }
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_set_inviter_calls_for_one_user_store_exactly_one_inviter() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(100)).await;
    let mut inviters = Vec::new();
    for n in 0..8 {
        inviters.push(app.login(&phone(n)).await);
    }
    let calls = inviters
        .iter()
        .map(|i| (&user, i.profile.invite_code.clone()))
        .collect();
    let results = set_concurrently(&app, calls).await;

    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let stored = app.profile(&user.token).await.unwrap().invited_by;
    assert_eq!(winners[0].invited_by, stored);
    for loser in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(loser.code(), Code::AlreadyExists);
        assert!(loser.message().contains(&stored), "{}", loser.message());
    }
    let mut total = 0;
    for inviter in &inviters {
        let profile = app.profile(&inviter.token).await.unwrap();
        total += profile.referral_count;
        assert_eq!(profile.referral_count == 1, profile.invite_code == stored);
    }
    assert_eq!(total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mutual_set_inviter_at_the_same_instant_lets_exactly_one_link_through() {
    let app = TestApp::spawn().await;
    race_mutual_links(&app, 10).await;
}

/// A database whose default isolation is stricter than READ COMMITTED must not weaken the
/// graph lock: the write pins its own level, so A→B against B→A still lets exactly one through,
/// and neither fails with a serialization error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mutual_set_inviter_lets_exactly_one_link_through_under_every_default_isolation() {
    if !requires_shared_stores(&[SharedStore::Postgres]).await {
        return;
    }
    for isolation in ["repeatable read", "serializable"] {
        let backing = Backing::fresh().await;
        let admin_url = SharedStore::Postgres.url().unwrap();
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        let database = backing.database_url.rsplit('/').next().unwrap();
        // Applies to the sessions opened after it: the server below connects afterwards.
        let alter = format!(
            r#"ALTER DATABASE "{database}" SET default_transaction_isolation = '{isolation}'"#
        );
        admin.execute(alter.as_str()).await.unwrap();
        let app = TestApp::spawn_on(backing, &[]).await;
        race_mutual_links(&app, 30).await;
    }
}

/// Races A→B against B→A for `rounds` fresh pairs: exactly one link per pair, and the other
/// call refused as a cycle (never INTERNAL).
async fn race_mutual_links(app: &TestApp, rounds: u32) {
    for round in 0..rounds {
        let a = app.login(&phone(2 * round)).await;
        let b = app.login(&phone(2 * round + 1)).await;
        let results = set_concurrently(
            app,
            vec![
                (&a, b.profile.invite_code.clone()),
                (&b, a.profile.invite_code.clone()),
            ],
        )
        .await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");

        let a_inviter = app.profile(&a.token).await.unwrap().invited_by;
        let b_inviter = app.profile(&b.token).await.unwrap().invited_by;
        // Exactly one direction is stored.
        assert!(
            (a_inviter == b.profile.invite_code && b_inviter.is_empty())
                || (b_inviter == a.profile.invite_code && a_inviter.is_empty()),
            "round {round}: a→{a_inviter:?} b→{b_inviter:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_way_cycle_attempted_at_once_stores_at_most_two_links() {
    let app = TestApp::spawn().await;
    for round in 0..5 {
        let users = [
            app.login(&phone(3 * round)).await,
            app.login(&phone(3 * round + 1)).await,
            app.login(&phone(3 * round + 2)).await,
        ];
        let calls = (0..3)
            .map(|i| (&users[i], users[(i + 1) % 3].profile.invite_code.clone()))
            .collect();
        let results = set_concurrently(&app, calls).await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            2,
            "round {round}: {results:?}"
        );
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(refused.code(), Code::FailedPrecondition);
    }
}
