//! The in-process profile cache (single-node mode) must never show a stale profile: every
//! test here runs with the cache on (the default) and off, and must see the same answers.
use phone_auth::proto::{GetProfileRequest, Profile};

use crate::helpers::{LoggedIn, TestApp, all_at_once, authed, phone};

async fn apps() -> Vec<(&'static str, TestApp)> {
    vec![
        ("cache on", TestApp::spawn().await),
        (
            "cache off",
            TestApp::spawn_with(&[("USER_CACHE_MB", "0")]).await,
        ),
    ]
}

async fn page(app: &TestApp, user: &LoggedIn, size: u32, token: String) -> Profile {
    app.client
        .clone()
        .get_profile(authed(
            &user.token,
            GetProfileRequest {
                referrals_page_size: size,
                referrals_page_token: token,
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_profile_read_before_a_new_referral_shows_it_right_after() {
    for (mode, app) in apps().await {
        let inviter = app.login(&phone(0)).await;
        let before = app.profile(&inviter.token).await.unwrap();
        assert_eq!(before.referral_count, 0, "{mode}");
        for n in 1..=3 {
            let user = app.login(&phone(n)).await;
            // Read the inviter (and the invitee) just before the link, so a cache holds both.
            app.profile(&inviter.token).await.unwrap();
            app.profile(&user.token).await.unwrap();
            app.set_inviter(&user.token, &inviter.profile.invite_code)
                .await
                .unwrap();
            let after = app.profile(&inviter.token).await.unwrap();
            assert_eq!(after.referral_count, n as u64, "{mode}");
            assert_eq!(after.referrals.len(), n as usize, "{mode}");
            assert_eq!(after.referrals.last().unwrap().phone_number, user.phone);
            let invitee = app.profile(&user.token).await.unwrap();
            assert_eq!(invitee.invited_by, inviter.profile.invite_code, "{mode}");
            // A new login answers with the fresh profile too.
            let again = app.login(&phone(0)).await;
            assert_eq!(again.profile.referral_count, n as u64, "{mode}");
        }
    }
}

#[tokio::test]
async fn pages_cut_from_the_cached_first_page_continue_from_the_database() {
    for (mode, app) in apps().await {
        let inviter = app.login(&phone(0)).await;
        let mut invited = Vec::new();
        for n in 1..=7 {
            let user = app.login(&phone(n)).await;
            app.set_inviter(&user.token, &inviter.profile.invite_code)
                .await
                .unwrap();
            invited.push(user.phone);
        }
        // Fill the cache with the default page, then walk in pages of 3 and of 7.
        app.profile(&inviter.token).await.unwrap();
        for size in [3, 7, 8] {
            let (mut seen, mut token) = (Vec::new(), String::new());
            loop {
                let profile = page(&app, &inviter, size, token).await;
                seen.extend(profile.referrals.into_iter().map(|r| r.phone_number));
                if profile.next_referrals_page_token.is_empty() {
                    break;
                }
                token = profile.next_referrals_page_token;
            }
            assert_eq!(seen, invited, "{mode}, pages of {size}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn profiles_read_while_links_are_made_end_up_exact() {
    for (mode, app) in apps().await {
        let inviter = app.login(&phone(0)).await;
        let mut users = Vec::new();
        for n in 1..=12 {
            users.push(app.login(&phone(n)).await);
        }
        // Readers hammer the inviter's profile while every user links to it at once.
        let readers = (0..4).map(|_| {
            let (client, token) = (app.client.clone(), inviter.token.clone());
            Box::pin(async move {
                for _ in 0..40 {
                    let request = authed(&token, GetProfileRequest::default());
                    client.clone().get_profile(request).await.unwrap();
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        });
        let links = users.iter().map(|user| {
            let (client, token) = (app.client.clone(), user.token.clone());
            let code = inviter.profile.invite_code.clone();
            Box::pin(async move {
                let request = authed(
                    &token,
                    phone_auth::proto::SetInviterRequest { invited_by: code },
                );
                client.clone().set_inviter(request).await.unwrap();
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        });
        all_at_once(readers.chain(links)).await;
        let profile = app.profile(&inviter.token).await.unwrap();
        assert_eq!(profile.referral_count, 12, "{mode}");
        assert_eq!(profile.referrals.len(), 12, "{mode}");
    }
}
