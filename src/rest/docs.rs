//! The API docs page at `/users/docs/`: Swagger UI over the OpenAPI document that build.rs
//! wrote from the proto (`openapi/`), at `/users/docs/openapi.json`.
//!
//! Everything is in the binary: the document is compiled in, and Swagger UI's files come from
//! utoipa-swagger-ui's vendored copy, so nothing is downloaded at build or run time. The page
//! calls only this server ("Try it out" included), which its Content-Security-Policy holds it
//! to.
use std::sync::{Arc, LazyLock};

use axum::{Router, body::Body, extract::Path, middleware::map_response, routing::get};
use http::{HeaderValue, Response, StatusCode, header};
use prost::bytes::Bytes;
use utoipa_swagger_ui::Config;

/// Where the page is; both `/users/docs` and `/users/docs/` serve it.
pub const DOCS_PATH: &str = "/users/docs";

/// The OpenAPI document build.rs wrote.
const OPENAPI_JSON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// Swagger UI's page with absolute URLs, so that it works with and without the slash.
const PAGE: &str = include_str!("docs/index.html");

/// Scripts from this server only, and no inline ones; connections (the document, "Try it out")
/// to this server only; no framing, no forms, no `<base>`. Swagger UI renders with React, which
/// sets `style` attributes, and its syntax highlighter injects styles: without
/// 'unsafe-inline' for styles the page is unreadable. Inline styles cannot run code. Its CSS
/// draws its icons from `data:` URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Swagger UI's settings, written into its `swagger-initializer.js`.
static SWAGGER_CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    let config = Config::from("/users/docs/openapi.json")
        // No document is sent to swagger.io's validator (which would also break the CSP).
        .validator_url("none")
        // Without the top bar that loads any document by URL: this page shows ours.
        .use_base_layout();
    Arc::new(config)
});

/// The docs page, the document and Swagger UI's files, each with the page's security headers.
pub fn docs_router() -> Router {
    Router::new()
        .route(DOCS_PATH, get(page))
        .route(&format!("{DOCS_PATH}/"), get(page))
        .route(&format!("{DOCS_PATH}/openapi.json"), get(document))
        .route(&format!("{DOCS_PATH}/{{file}}"), get(swagger_file))
        .layer(map_response(with_security_headers))
}

async fn page() -> Response<Body> {
    respond(
        Bytes::from_static(PAGE.as_bytes()),
        "text/html; charset=utf-8",
    )
}

async fn document() -> Response<Body> {
    respond(Bytes::from_static(OPENAPI_JSON), "application/json")
}

async fn swagger_file(Path(file): Path<String>) -> Response<Body> {
    if file == "index.html" {
        return page().await;
    }
    let found = utoipa_swagger_ui::serve(&file, SWAGGER_CONFIG.clone());
    let Ok(Some(found)) = found else {
        let mut missing = Response::new(Body::empty());
        *missing.status_mut() = StatusCode::NOT_FOUND;
        return missing;
    };
    let mut response = respond(Bytes::from(found.bytes.into_owned()), &found.content_type);
    // Swagger UI's files change only with the binary; the page and the document are checked
    // on every visit, so a new version shows at once.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

fn respond(body: Bytes, content_type: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn with_security_headers(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
