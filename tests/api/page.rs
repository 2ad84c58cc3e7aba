//! The built-in page at `/`: HTML under a strict Content-Security-Policy, its scripts and style
//! with their content types, and every path it does not claim still reaching REST and gRPC.
use http::{Method, StatusCode};

use crate::{
    helpers::{TestApp, phone},
    rest::client::{Answer, Rest},
};

/// What the issue asks of the page's CSP, directive by directive.
const REQUIRED_CSP: [&str; 8] = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
];

/// Asserts the headers every file of the page carries.
#[track_caller]
fn assert_page_headers(answer: &Answer, content_type: &str) {
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name}: {answer:#?}"))
            .to_str()
            .unwrap()
    };
    assert_eq!(header("content-type"), content_type);
    let csp: Vec<&str> = header("content-security-policy")
        .split(';')
        .map(str::trim)
        .collect();
    for directive in REQUIRED_CSP {
        assert!(csp.contains(&directive), "{directive} missing from {csp:?}");
    }
    assert!(
        csp.contains(&"require-trusted-types-for 'script'"),
        "{csp:?}"
    );
    assert!(
        !csp.iter().any(|d| d.contains("unsafe-") || d.contains('*')),
        "{csp:?}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-cache");
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(header("etag").starts_with('"'));
}

#[tokio::test]
async fn the_page_is_html_under_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    let page = Rest::http1(app.addr).send(Method::GET, "/", &[], "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_page_headers(&page, "text/html; charset=utf-8");
    assert!(page.text.starts_with("<!doctype html>"), "{}", page.text);
    assert!(
        page.text
            .contains(r#"<script type="module" src="/page/app.js"></script>"#)
    );
    assert!(
        page.text
            .contains(r#"<link rel="stylesheet" href="/page/app.css">"#)
    );
    // Nothing from another network: no CDN, no fonts, no analytics.
    assert!(!page.text.contains("//"), "{}", page.text);
}

#[tokio::test]
async fn the_scripts_and_the_style_load_with_their_content_types_and_revalidate() {
    let app = TestApp::spawn().await;
    let files = [
        ("/page/app.js", "text/javascript; charset=utf-8", "import "),
        ("/page/api.js", "text/javascript; charset=utf-8", "export "),
        ("/page/app.css", "text/css; charset=utf-8", "{"),
    ];
    for rest in [Rest::http1(app.addr), Rest::h2(app.addr)] {
        for (path, content_type, sample) in files {
            let file = rest.send(Method::GET, path, &[], "").await;
            assert_eq!(file.status, StatusCode::OK, "{path}");
            assert_page_headers(&file, content_type);
            assert!(file.text.contains(sample), "{path}: {}", file.text);

            // A browser holding the current copy is told so, without the body.
            let etag = file.headers["etag"].to_str().unwrap();
            let again = rest
                .send(Method::GET, path, &[("if-none-match", etag)], "")
                .await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(again.text, "");
            let stale = rest
                .send(Method::GET, path, &[("if-none-match", "\"old\"")], "")
                .await;
            assert_eq!(stale.status, StatusCode::OK, "{path}");
        }
    }
    let head = Rest::http1(app.addr).send(Method::HEAD, "/", &[], "").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_page_headers(&head, "text/html; charset=utf-8");
    assert_eq!(head.text, "");
}

#[tokio::test]
async fn paths_the_page_does_not_claim_still_reach_rest_and_grpc() {
    let app = TestApp::spawn().await;
    let rest = Rest::http1(app.addr);
    for path in ["/page/", "/page/missing.js", "/index.html", "/app.js"] {
        let missing = rest.send(Method::GET, path, &[], "").await;
        missing.assert_error(404, 5);
        assert!(
            missing.json["message"]
                .as_str()
                .unwrap()
                .contains("no REST call"),
            "{missing:#?}"
        );
    }
    // `/` is the page's alone, for reading.
    let post = rest.send(Method::POST, "/", &[], "").await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers["allow"], "GET,HEAD");

    rest.get("/users/profile/", None)
        .await
        .assert_error(401, 16);
    let login = rest.login(&phone(1)).await;
    let token = login["sessionToken"].as_str().unwrap();
    let profile = rest.get("/users/profile/", Some(token)).await;
    assert_eq!(profile.assert_ok()["phoneNumber"], phone(1));

    let native = app.login(&phone(2)).await;
    assert_eq!(
        app.profile(&native.token).await.unwrap().phone_number,
        phone(2)
    );
}
