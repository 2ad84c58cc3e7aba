//! Per-address limits on the IPv6 /56 beside the /64 (issue #11, item 4): the 256 /64s of one
//! allocation share one bucket, so rotating through them does not multiply the limit. The
//! client address comes from X-Forwarded-For, believed from the loopback test client.
use phone_auth::proto::RequestCodeRequest;
use tonic::{Code, Request, Status};

use crate::helpers::{TestApp, assert_status, phone};

/// RequestCode for a fresh number from `client`.
async fn request_from(app: &TestApp, n: u32, client: &str) -> Result<(), Status> {
    let mut request = Request::new(RequestCodeRequest {
        phone_number: phone(n),
    });
    request
        .metadata_mut()
        .insert("x-forwarded-for", client.parse().unwrap());
    app.client.clone().request_code(request).await.map(|_| ())
}

#[tokio::test]
async fn the_slash_64s_of_one_slash_56_are_throttled_together_and_another_slash_56_is_not() {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REQUEST_CODE_PER_IP_BURST", "1"),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "1"),
        ("REQUEST_CODE_PER_IPV6_56_BURST", "3"),
        ("REQUEST_CODE_PER_IPV6_56_PER_MINUTE", "1"),
    ])
    .await;
    // Three /64s of 2001:db8:1:200::/56, one call each: the /56's burst of 3.
    for (n, client) in [
        (1, "2001:db8:1:200::1"),
        (2, "2001:db8:1:2a0::1"),
        (3, "2001:db8:1:2ff::1"),
    ] {
        request_from(&app, n, client)
            .await
            .unwrap_or_else(|status| panic!("{client}: {status:?}"));
    }
    // A fourth, fresh /64 of the same /56 is refused, by the /56's bucket.
    assert_status(
        request_from(&app, 4, "2001:db8:1:201::7").await,
        Code::ResourceExhausted,
        "from your network (IPv6 /56)",
    );
    // The next /56 has its own bucket of 3.
    request_from(&app, 5, "2001:db8:1:300::1")
        .await
        .expect("2001:db8:1:300::/56 is another allocation");
    request_from(&app, 6, "2001:db8:1:301::1").await.unwrap();
    // A spent /64 is refused by its own bucket first, and takes nothing of its /56's last one.
    assert_status(
        request_from(&app, 7, "2001:db8:1:300::2").await,
        Code::ResourceExhausted,
        "from your network address",
    );
    request_from(&app, 8, "2001:db8:1:302::1")
        .await
        .expect("the refused /64 left the /56's last token");
    assert_status(
        request_from(&app, 9, "2001:db8:1:303::1").await,
        Code::ResourceExhausted,
        "from your network (IPv6 /56)",
    );
}

#[tokio::test]
async fn ipv4_clients_are_counted_once_not_also_per_wider_prefix() {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REQUEST_CODE_PER_IP_BURST", "2"),
        ("REQUEST_CODE_PER_IP_PER_MINUTE", "1"),
        ("REQUEST_CODE_PER_IPV6_56_BURST", "1"),
    ])
    .await;
    // A /56 burst of 1 would refuse the second call if IPv4 paid a wider bucket too.
    request_from(&app, 1, "198.51.100.7").await.unwrap();
    request_from(&app, 2, "198.51.100.7").await.unwrap();
    assert_status(
        request_from(&app, 3, "198.51.100.7").await,
        Code::ResourceExhausted,
        "from your network address",
    );
}
