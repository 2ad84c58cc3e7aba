use phone_auth::proto::ListUsersRequest;
use tonic::Code;

use crate::helpers::{ADMIN_PHONE, TestApp, assert_status, authed, bad_request_field, phone};

#[tokio::test]
async fn admins_list_every_user_in_stable_keyset_pages() {
    let app = TestApp::spawn().await;
    let admin = app.login(ADMIN_PHONE).await;
    let first = app.login(&phone(0)).await;
    for n in 1..7 {
        app.login(&phone(n)).await;
    }
    app.set_inviter(
        &app.login(&phone(3)).await.token,
        &first.profile.invite_code,
    )
    .await
    .unwrap();

    let mut users = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .client
            .clone()
            .list_users(authed(
                &admin.token,
                ListUsersRequest {
                    page_size: 3,
                    page_token: token,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.users.len() <= 3);
        users.extend(page.users);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(users.len(), 8);
    assert!(
        users.windows(2).all(|w| w[0].user_id < w[1].user_id),
        "ascending ids"
    );
    assert_eq!(users[0].phone_number, ADMIN_PHONE);
    let linked = users.iter().find(|u| u.phone_number == phone(3)).unwrap();
    assert_eq!(linked.invited_by, first.profile.invite_code);
    assert_eq!(
        users
            .iter()
            .find(|u| u.phone_number == phone(0))
            .unwrap()
            .referral_count,
        1
    );
    assert!(users.iter().all(|u| u.created_at.is_some()));
}

#[tokio::test]
async fn admin_phones_match_in_any_format_the_default_region_parses() {
    let app = TestApp::spawn_with(&[("ADMIN_PHONES", "8 (912) 000-00-01, +79990000000")]).await;
    let admin = app.login("+79120000001").await;
    app.client
        .clone()
        .list_users(authed(&admin.token, ListUsersRequest::default()))
        .await
        .expect("admin may list");
}

#[tokio::test]
async fn other_users_get_permission_denied() {
    let app = TestApp::spawn().await;
    let user = app.login(&phone(0)).await;
    let result = app
        .client
        .clone()
        .list_users(authed(&user.token, ListUsersRequest::default()))
        .await;
    assert_status(result, Code::PermissionDenied, "ADMIN_PHONES");
}

#[tokio::test]
async fn no_or_a_bad_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    assert_status(
        app.client
            .clone()
            .list_users(ListUsersRequest::default())
            .await,
        Code::Unauthenticated,
        "missing",
    );
    let result = app
        .client
        .clone()
        .list_users(authed(&"A".repeat(43), ListUsersRequest::default()))
        .await;
    assert_status(result, Code::Unauthenticated, "unknown");
}

#[tokio::test]
async fn a_foreign_page_token_names_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.login(ADMIN_PHONE).await;
    let request = ListUsersRequest {
        page_size: 10,
        page_token: "not-ours".into(),
    };
    let status = assert_status(
        app.client
            .clone()
            .list_users(authed(&admin.token, request))
            .await,
        Code::InvalidArgument,
        "page_token",
    );
    assert_eq!(bad_request_field(&status).as_deref(), Some("page_token"));
}
