//! The API docs page at /users/docs/ and the OpenAPI document at /users/docs/openapi.json, as
//! the real server serves them: the page and Swagger UI's files come from the binary under a
//! strict CSP, and the document describes every REST route of every RPC of the proto, who may
//! call it, and the errors it answers.
mod openapi;

use crate::{helpers::TestApp, rest::client::Rest};

#[tokio::test]
async fn the_docs_page_answers_with_and_without_the_slash_under_a_strict_csp() {
    let app = TestApp::spawn().await;
    let rest = Rest::http1(app.addr);
    for path in ["/users/docs/", "/users/docs"] {
        let page = rest.get(path, None).await;
        assert_eq!(page.status, 200, "{path}: {page:#?}");
        assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
        assert!(
            page.text.contains(r#"<div id="swagger-ui">"#),
            "{}",
            page.text
        );
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} missing from {csp}");
        }
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
    }
}

#[tokio::test]
async fn swagger_uis_files_load_from_the_binary_with_their_content_types() {
    let app = TestApp::spawn().await;
    let rest = Rest::http1(app.addr);
    let page = rest.get("/users/docs/", None).await;
    // Every file the page loads: `href="/users/docs/..."` and `src="/users/docs/..."`.
    let files: Vec<&str> = page
        .text
        .split('"')
        .filter(|piece| piece.starts_with("/users/docs/"))
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let answer = rest.get(file, None).await;
        assert_eq!(answer.status, 200, "{file}");
        let content_type = answer.headers["content-type"].to_str().unwrap();
        let expected = match file.rsplit('.').next() {
            Some("css") => "text/css",
            Some("js") => "javascript",
            Some("png") => "image/png",
            other => panic!("{file}: unexpected kind {other:?}"),
        };
        assert!(content_type.contains(expected), "{file}: {content_type}");
        assert!(!answer.text.is_empty(), "{file} is empty");
        assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    }
    let initializer = rest.get("/users/docs/swagger-initializer.js", None).await;
    assert!(initializer.text.contains(r#""/users/docs/openapi.json""#));
    assert!(initializer.text.contains(r#""validatorUrl": "none""#));
    assert_eq!(rest.get("/users/docs/nothing.js", None).await.status, 404);
}
