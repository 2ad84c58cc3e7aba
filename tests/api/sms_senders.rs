//! The real SMS senders driven through RequestCode against local fakes of their providers
//! (`providers.rs`): delivery, refusals that are not retried and leave neither a code nor a
//! cooldown, retries after a "not now" (503, 429, SMS.ru's 220), and no retry and no refund
//! after an answer that leaves open whether the SMS went out (a timeout, another 5xx).
mod providers;

use std::time::Duration;

use phone_auth::proto::{RequestCodeRequest, RequestCodeResponse};
use tonic::{Code, Status};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::helpers::{TestApp, assert_status};
use providers::{PHONE, Provider, SMSRU, TWILIO, WEBHOOK};

/// A fake of `provider` answering `responses` in turn (the last one from then on), and the
/// server configured to use it.
async fn spawn(
    provider: &Provider,
    responses: &[ResponseTemplate],
    extra: &[(&'static str, &str)],
) -> (MockServer, TestApp) {
    let fake = MockServer::start().await;
    for (n, response) in responses.iter().enumerate() {
        let mock = Mock::given(method("POST"))
            .and(path(provider.path))
            .respond_with(response.clone());
        let last = n + 1 == responses.len();
        (if last { mock } else { mock.up_to_n_times(1) })
            .mount(&fake)
            .await;
    }
    let mut vars = (provider.vars)(&fake);
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (fake, TestApp::spawn_with(&vars).await)
}

async fn request_code(app: &TestApp) -> Result<RequestCodeResponse, Status> {
    let request = RequestCodeRequest {
        phone_number: PHONE.into(),
    };
    app.client
        .clone()
        .request_code(request)
        .await
        .map(|r| r.into_inner())
}

/// The codes in the requests the fake received, each request checked.
async fn codes_sent(fake: &MockServer, provider: &Provider) -> Vec<String> {
    let requests = fake.received_requests().await.expect("recording is on");
    requests.iter().map(provider.check).collect()
}

async fn delivers_the_code_without_revealing_it(provider: Provider) {
    let (fake, app) = spawn(&provider, &[(provider.accepted)()], &[]).await;
    let response = request_code(&app).await.expect("RequestCode succeeds");
    assert_eq!(
        response.debug_code, "",
        "a real sender never reveals the code"
    );
    let codes = codes_sent(&fake, &provider).await;
    assert_eq!(codes.len(), 1, "one request");
    assert!(
        app.verify(PHONE, &codes[0])
            .await
            .expect("the sent code logs in")
            .created
    );
}

async fn a_refusal_is_not_retried_and_leaves_no_code_or_cooldown(provider: Provider) {
    let cooldown = [("RESEND_INTERVAL_SECONDS", "60")];
    let (fake, app) = spawn(&provider, &[(provider.refused)()], &cooldown).await;
    let refused = request_code(&app).await;
    assert_status(refused, Code::Unavailable, "SMS delivery is unavailable");
    let codes = codes_sent(&fake, &provider).await;
    assert_eq!(codes.len(), 1, "a refusal is not retried");
    let verified = app.verify(PHONE, &codes[0]).await;
    assert_status(verified, Code::InvalidArgument, "wrong or has expired");

    fake.reset().await;
    Mock::given(method("POST"))
        .and(path(provider.path))
        .respond_with((provider.accepted)())
        .mount(&fake)
        .await;
    request_code(&app)
        .await
        .expect("no cooldown after a failed delivery");
    let codes = codes_sent(&fake, &provider).await;
    app.verify(PHONE, &codes[0])
        .await
        .expect("the new code logs in");
}

async fn an_unavailable_provider_is_retried(provider: Provider) {
    let answers = [(provider.unavailable)(), (provider.accepted)()];
    let (fake, app) = spawn(&provider, &answers, &[]).await;
    request_code(&app).await.expect("the retry succeeds");
    let codes = codes_sent(&fake, &provider).await;
    assert_eq!(codes.len(), 2, "one retry");
    assert_eq!(codes[0], codes[1], "the same message is retried");
    app.verify(PHONE, &codes[1])
        .await
        .expect("the sent code logs in");
}

/// A provider that took the request and did not answer in time may have sent the SMS: it is
/// not sent again (the phone would get the code twice), and its limits stay spent.
async fn a_timed_out_attempt_is_not_sent_again_and_keeps_its_limits(provider: Provider) {
    let slow = (provider.accepted)().set_delay(Duration::from_secs(3));
    let vars = [
        ("SMS_TIMEOUT_SECONDS", "0.5"),
        ("RESEND_INTERVAL_SECONDS", "60"),
    ];
    let (fake, app) = spawn(&provider, &[slow, (provider.accepted)()], &vars).await;
    assert_status(
        request_code(&app).await,
        Code::Unavailable,
        "SMS delivery is unavailable",
    );
    assert_perhaps_sent_once(&fake, &provider, &app).await;
}

/// A server error other than 503 may come after the provider took the message: the same as a
/// timeout.
async fn a_server_error_is_not_sent_again_and_keeps_its_limits(provider: Provider) {
    let cooldown = [("RESEND_INTERVAL_SECONDS", "60")];
    let answers = [ResponseTemplate::new(500), (provider.accepted)()];
    let (fake, app) = spawn(&provider, &answers, &cooldown).await;
    assert_status(
        request_code(&app).await,
        Code::Unavailable,
        "SMS delivery is unavailable",
    );
    assert_perhaps_sent_once(&fake, &provider, &app).await;
}

/// After a delivery that may have happened: one request reached the fake, and the phone's
/// cooldown is still running (nothing was refunded).
async fn assert_perhaps_sent_once(fake: &MockServer, provider: &Provider, app: &TestApp) {
    let codes = codes_sent(fake, provider).await;
    assert_eq!(
        codes.len(),
        1,
        "a request that may have been sent is not sent again"
    );
    assert_status(
        request_code(app).await,
        Code::ResourceExhausted,
        "a code was just sent",
    );
    assert_eq!(codes_sent(fake, provider).await.len(), 1);
}

macro_rules! provider_tests {
    ($($module:ident: $provider:ident),*) => {$(
        mod $module {
            use super::*;

            #[tokio::test]
            async fn delivers_the_code_without_revealing_it() {
                super::delivers_the_code_without_revealing_it($provider).await
            }

            #[tokio::test]
            async fn a_refusal_is_not_retried_and_leaves_no_code_or_cooldown() {
                super::a_refusal_is_not_retried_and_leaves_no_code_or_cooldown($provider).await
            }

            #[tokio::test]
            async fn an_unavailable_provider_is_retried() {
                super::an_unavailable_provider_is_retried($provider).await
            }

            #[tokio::test]
            async fn a_timed_out_attempt_is_not_sent_again_and_keeps_its_limits() {
                super::a_timed_out_attempt_is_not_sent_again_and_keeps_its_limits($provider).await
            }

            #[tokio::test]
            async fn a_server_error_is_not_sent_again_and_keeps_its_limits() {
                super::a_server_error_is_not_sent_again_and_keeps_its_limits($provider).await
            }
        }
    )*};
}

provider_tests!(webhook: WEBHOOK, twilio: TWILIO, smsru: SMSRU);
