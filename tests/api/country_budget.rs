//! The SMS budget per destination country (issue #11, item 4): pumping toward one country
//! spends that country's budget, not the service's, so every other country is still served.
use std::time::Duration;

use phone_auth::proto::RequestCodeRequest;
use tonic::{Code, Status};

use crate::helpers::{TestApp, assert_status, phone, retry_delay};

/// A UK mobile and a US number (+1, like the Caribbean, but a region of its own).
const UK: &str = "+447400123456";
const US: &str = "+16502530000";
/// Codes to Russia per (1 s) window; the service-wide budget is far larger.
const RU_BUDGET: u32 = 2;

async fn request(app: &TestApp, phone: &str) -> Result<(), Status> {
    app.client
        .clone()
        .request_code(RequestCodeRequest {
            phone_number: phone.into(),
        })
        .await
        .map(|_| ())
}

/// Sends codes to fresh Russian numbers until the country's budget refuses one, and returns
/// that refusal; `sent` were already sent in this window. The budget counts per aligned window,
/// which a run on the real clock (Redis) may straddle: at most two windows' worth go through.
async fn spend_the_russian_budget(app: &TestApp, next: &mut u32, mut sent: u32) -> Status {
    loop {
        *next += 1;
        match request(app, &phone(*next)).await {
            Ok(()) => sent += 1,
            Err(status) => {
                assert!(sent >= RU_BUDGET, "refused before the budget was spent");
                return status;
            }
        }
        assert!(sent <= 2 * RU_BUDGET, "the country's budget never refused");
    }
}

#[tokio::test]
async fn a_spent_country_budget_refuses_that_country_while_others_are_still_served() {
    let app = TestApp::spawn_with(&[
        ("SMS_BUDGET_PER_WINDOW", "1000"),
        ("SMS_BUDGET_PER_COUNTRY_PER_WINDOW", &RU_BUDGET.to_string()),
        ("SMS_BUDGET_WINDOW_SECONDS", "1"),
    ])
    .await;
    let mut next = 0;
    // Russia refused, then the UK and the US served, then Russia refused again: the other
    // countries were served within one window of a spent Russian budget. (On the real clock a
    // window may end in between; then the whole sequence runs again.)
    let refusal = 'window: {
        let mut sent = 0;
        for _ in 0..3 {
            let refusal = spend_the_russian_budget(&app, &mut next, sent).await;
            request(&app, UK).await.expect("the UK is served");
            request(&app, US).await.expect("the US is served");
            next += 1;
            if request(&app, &phone(next)).await.is_err() {
                break 'window refusal;
            }
            sent = 1;
        }
        panic!("three windows ended between two calls");
    };

    assert_eq!(refusal.code(), Code::Unavailable, "{refusal:?}");
    assert!(refusal.message().contains("SMS delivery"), "{refusal:?}");
    let delay = retry_delay(&refusal);
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(1),
        "{delay:?}"
    );
    app.advance(delay + Duration::from_millis(1)).await;
    request(&app, &phone(next + 1))
        .await
        .expect("Russia is served again once the window frees");
}

#[tokio::test]
async fn an_override_gives_the_home_country_a_larger_budget() {
    let app = TestApp::spawn_with(&[
        ("SMS_BUDGET_PER_COUNTRY_PER_WINDOW", "1"),
        ("SMS_BUDGET_COUNTRY_OVERRIDES", "RU:1000"),
    ])
    .await;
    for n in 1..=5 {
        request(&app, &phone(n)).await.expect("Russia has 1000");
    }
    request(&app, UK).await.expect("the UK's one SMS");
    assert_status(request(&app, UK).await, Code::Unavailable, "SMS delivery");
}
