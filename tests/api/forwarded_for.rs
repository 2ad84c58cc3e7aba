//! X-Forwarded-For as an attacker writes it: behind a trusted proxy, a client can put anything
//! in front of the addresses the proxy appends. The per-address limits must key on the
//! right-most address that no trusted proxy vouches for, whatever was prepended.
//!
//! The test client connects from 127.0.0.1, and the server trusts exactly that address (as the
//! compose file trusts exactly its balancer), so the client plays the balancer that appended
//! the last entries.
use phone_auth::proto::RequestCodeRequest;
use tonic::{Code, Request, Status};

use crate::helpers::{TestApp, assert_status, phone};

/// One RequestCode per address, refilled once a minute: a second call from the same client
/// address within the test is refused.
async fn one_code_per_address_behind_the_loopback_proxy() -> TestApp {
    TestApp::spawn_with(&[
        ("REQUEST_CODE_PER_IP_BURST", "1"),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "1"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await
}

/// RequestCode for `phone` with one `x-forwarded-for` metadata entry per element of `chains`,
/// in that order (as several header lines arrive).
async fn request_forwarded(app: &TestApp, phone: String, chains: &[&str]) -> Result<(), Status> {
    let mut request = Request::new(RequestCodeRequest {
        phone_number: phone,
    });
    for chain in chains {
        request
            .metadata_mut()
            .append("x-forwarded-for", chain.parse().unwrap());
    }
    app.client.clone().request_code(request).await.map(|_| ())
}

/// The refusal of the per-address RequestCode limit.
#[track_caller]
fn assert_address_spent(result: Result<(), Status>) {
    assert_status(result, Code::ResourceExhausted, "network address");
}

#[tokio::test]
async fn the_per_address_limit_keys_on_the_rightmost_untrusted_address_whatever_is_prepended() {
    let app = one_code_per_address_behind_the_loopback_proxy().await;
    request_forwarded(&app, phone(1), &["1.2.3.4, 5.6.7.8, 198.51.100.7"])
        .await
        .expect("the first call from 198.51.100.7 is admitted");

    // The same client with fresh prepended entries, in one header or in an earlier header
    // line: still 198.51.100.7, whose one call is spent.
    assert_address_spent(
        request_forwarded(&app, phone(2), &["9.9.9.9, 8.8.8.8, 198.51.100.7"]).await,
    );
    assert_address_spent(request_forwarded(&app, phone(3), &["7.7.7.7", "198.51.100.7"]).await);

    // Another client behind the same forged prefix is a different address, with its own call.
    request_forwarded(&app, phone(4), &["1.2.3.4, 5.6.7.8, 203.0.113.8"])
        .await
        .expect("203.0.113.8 has its own bucket, whatever precedes it");
}

#[tokio::test]
async fn entries_the_trusted_proxy_added_are_skipped_and_the_next_one_is_the_client() {
    let app = one_code_per_address_behind_the_loopback_proxy().await;
    // A chain of two trusted hops (the balancer forwarding through itself, as a sidecar
    // would): the client is the first entry from the right that is not 127.0.0.1.
    request_forwarded(&app, phone(1), &["1.2.3.4, 198.51.100.7, 127.0.0.1"])
        .await
        .expect("the first call from 198.51.100.7 is admitted");
    assert_address_spent(request_forwarded(&app, phone(2), &["198.51.100.7"]).await);
    // And the forged 1.2.3.4 was never charged.
    request_forwarded(&app, phone(3), &["1.2.3.4"])
        .await
        .expect("1.2.3.4 was never the client");
}
