//! CORS: off unless CORS_ALLOWED_ORIGINS names origins, and then only for those. A browser sends
//! a preflight before any gRPC-Web call from another origin (its content type is not one a
//! form could send) and calls only when the answer allows its origin.
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use tonic::codegen::Bytes;

use super::client::http1_client;
use crate::helpers::TestApp;

const ALLOWED: &str = "https://app.example.com";
const PATH: &str = "/phoneauth.v1.AuthService/RequestCode";

/// Sends a preflight for a gRPC-Web call from `origin`; returns the status and headers.
async fn preflight(app: &TestApp, origin: &str) -> (StatusCode, HeaderMap) {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("http://{}{PATH}", app.addr))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "content-type,x-grpc-web,x-user-agent,authorization",
        )
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = http1_client().request(request).await.expect("an answer");
    (response.status(), response.headers().clone())
}

/// A gRPC-Web RequestCode from `origin`, as a browser sends it after the preflight.
async fn call_from(app: &TestApp, origin: &str) -> HeaderMap {
    // One message: no compression, length 2, field 1 = "+7" (the answer does not matter here).
    let message = Bytes::from_static(&[0, 0, 0, 0, 4, 0x0a, 2, b'+', b'7']);
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{}{PATH}", app.addr))
        .header(header::ORIGIN, origin)
        .header(header::CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(Full::new(message))
        .unwrap();
    let response = http1_client().request(request).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let _ = response.into_body().collect().await;
    headers
}

fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = TestApp::spawn().await;
    let (status, headers) = preflight(&app, ALLOWED).await;
    assert!(
        !status.is_success(),
        "a preflight is not answered: {status}"
    );
    assert_eq!(cors_headers(&headers), Vec::<String>::new());
    // A same-origin or non-browser call works, and carries no CORS header either.
    let headers = call_from(&app, ALLOWED).await;
    assert!(headers.contains_key("grpc-status"), "{headers:?}");
    assert_eq!(cors_headers(&headers), Vec::<String>::new());
}

#[tokio::test]
async fn cors_allows_the_named_origins_only_with_the_grpc_web_headers() {
    let app = TestApp::spawn_with(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://other.example.org,https://app.example.com",
    )])
    .await;
    let (status, headers) = preflight(&app, ALLOWED).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);
    let allowed_headers = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    for name in [
        "content-type",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "authorization",
    ] {
        assert!(allowed_headers.contains(name), "{allowed_headers}");
    }
    assert!(
        headers[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));

    let (_, headers) = preflight(&app, "https://evil.example.net").await;
    assert!(
        !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "{headers:?}"
    );
    // An origin differing only in scheme or port is another origin.
    for origin in ["http://app.example.com", "https://app.example.com:8443"] {
        let (_, headers) = preflight(&app, origin).await;
        assert!(
            !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "{origin}"
        );
    }

    let headers = call_from(&app, ALLOWED).await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ALLOWED);
    let exposed = headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    let headers = call_from(&app, "https://evil.example.net").await;
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}
