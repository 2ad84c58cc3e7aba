use phone_auth::proto::GetProfileRequest;
use tonic::Code;

use crate::helpers::{TestApp, assert_status, authed, bad_request_field, phone};

#[tokio::test]
async fn get_profile_returns_the_callers_profile() {
    let app = TestApp::spawn().await;
    let user = app.login("+79123456789").await;
    let profile = app.profile(&user.token).await.unwrap();
    assert_eq!(profile.user_id, user.profile.user_id);
    assert_eq!(profile.phone_number, "+79123456789");
    assert_eq!(profile.invite_code, user.profile.invite_code);
    assert_eq!(profile.invited_by, "");
    assert_eq!(profile.referral_count, 0);
    assert!(profile.referrals.is_empty());
    assert_eq!(profile.next_referrals_page_token, "");
    assert_eq!(profile.created_at, user.profile.created_at);
}

#[tokio::test]
async fn referrals_are_listed_oldest_first_in_pages() {
    let app = TestApp::spawn().await;
    let inviter = app.login(&phone(0)).await;
    let mut invited = Vec::new();
    for n in 1..=5 {
        let user = app.login(&phone(n)).await;
        app.set_inviter(&user.token, &inviter.profile.invite_code)
            .await
            .unwrap();
        invited.push(user.phone);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .get_profile(authed(
                &inviter.token,
                GetProfileRequest {
                    referrals_page_size: 2,
                    referrals_page_token: token,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.referral_count, 5);
        assert!(page.referrals.len() <= 2);
        for referral in &page.referrals {
            assert!(referral.joined_at.is_some() && referral.invited_at.is_some());
        }
        seen.extend(page.referrals.into_iter().map(|r| r.phone_number));
        if page.next_referrals_page_token.is_empty() {
            break;
        }
        token = page.next_referrals_page_token;
    }
    assert_eq!(seen, invited);
}

#[tokio::test]
async fn a_foreign_referrals_page_token_is_invalid_argument_naming_the_field() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(0)).await;
    let result = app
        .client
        .clone()
        .get_profile(authed(
            &user.token,
            GetProfileRequest {
                referrals_page_size: 0,
                referrals_page_token: "garbage".into(),
            },
        ))
        .await;
    let status = assert_status(result, Code::InvalidArgument, "referrals_page_token");
    assert_eq!(
        bad_request_field(&status).as_deref(),
        Some("referrals_page_token")
    );
}

#[tokio::test]
async fn page_sizes_above_the_maximum_are_capped() {
    let app = TestApp::spawn().await;
    let inviter = app.login(&phone(0)).await;
    let user = app.login(&phone(1)).await;
    app.set_inviter(&user.token, &inviter.profile.invite_code)
        .await
        .unwrap();
    let page = app
        .client
        .clone()
        .get_profile(authed(
            &inviter.token,
            GetProfileRequest {
                referrals_page_size: u32::MAX,
                referrals_page_token: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.referrals.len(), 1);
}

/// REFERRAL_PHONES=masked hides most of each referral's number wherever a profile is answered;
/// the caller's own number stays whole.
#[tokio::test]
async fn referral_phones_can_be_masked() {
    let app = TestApp::spawn_with(&[("REFERRAL_PHONES", "masked")]).await;
    let inviter = app.login("+79120000001").await;
    let user = app.login("+79123456789").await;
    let linked = app
        .set_inviter(&user.token, &inviter.profile.invite_code)
        .await
        .unwrap();
    assert_eq!(linked.phone_number, "+79123456789");

    let profile = app.profile(&inviter.token).await.unwrap();
    assert_eq!(profile.phone_number, "+79120000001");
    assert_eq!(profile.referrals[0].phone_number, "+7912*****89");
    let code = app.request_code("+79120000001").await;
    let login = app.verify("+79120000001", &code).await.unwrap();
    assert_eq!(
        login.profile.unwrap().referrals[0].phone_number,
        "+7912*****89"
    );
}
