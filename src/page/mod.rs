//! The built-in page at `/`: the seed's flow (phone → code → profile → inviter → logout) in a
//! browser, over the REST API of the same origin. Three static files compiled into the binary,
//! so there is no build step and nothing is fetched from another network.
//!
//! The page never holds the session token: it logs in with `x-session-delivery: cookie`
//! (`rest::session_cookie`). Every file is served under a strict Content-Security-Policy;
//! docs/security.md, "The built-in page", says what the page trusts and why.
use axum::{Router, body::Body, routing::get};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use sha2::{Digest, Sha256};

/// Scripts and styles only from this origin, and none inline; calls only to this origin; no
/// framing, no `<base>`, no form submissions (the scripts send JSON); and Trusted Types, so
/// that a string can never reach an HTML sink such as `innerHTML`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; \
    frame-ancestors 'none'; base-uri 'none'; require-trusted-types-for 'script'";

/// Each file: where it is served, its text, its content type.
const FILES: [(&str, &str, &str); 4] = [
    ("/", include_str!("index.html"), "text/html; charset=utf-8"),
    (
        "/page/app.js",
        include_str!("app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "/page/api.js",
        include_str!("api.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "/page/app.css",
        include_str!("app.css"),
        "text/css; charset=utf-8",
    ),
];

/// The page's routes (GET and HEAD). Every other path is left to the router this is merged
/// into, so REST and gRPC see them as before.
pub fn page_router() -> Router {
    FILES
        .iter()
        .fold(Router::new(), |router, &(path, text, content_type)| {
            let etag = etag_of(text);
            router.route(
                path,
                get(move |request: HeaderMap| {
                    let etag = etag.clone();
                    async move { serve(text, content_type, etag, &request) }
                }),
            )
        })
}

/// The file with the page's security headers; 304 when the browser's copy is current.
fn serve(
    text: &'static str,
    content_type: &'static str,
    etag: HeaderValue,
    request: &HeaderMap,
) -> Response<Body> {
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|sent| matches_etag(sent, &etag));
    let mut response = match unchanged {
        true => Response::new(Body::empty()),
        false => Response::new(Body::from(text)),
    };
    if unchanged {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change only with the binary: the browser may keep them but asks each time
    // (a cheap 304), so a new release never runs an old script against a new page.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // frame-ancestors, for browsers that predate it.
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // No other site's window keeps a handle on ours, nor embeds our scripts.
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A strong ETag from the content, so it changes exactly when the file does.
fn etag_of(text: &str) -> HeaderValue {
    let digest = Sha256::digest(text.as_bytes());
    HeaderValue::from_str(&format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..12])))
        .expect("base64url in quotes is header text")
}

/// Whether an `If-None-Match` list names `etag` (weakly compared, as RFC 9110 asks) or is `*`.
fn matches_etag(sent: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(sent) = sent.to_str() else {
        return false;
    };
    sent.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == etag.as_bytes()
    })
}

#[cfg(test)]
mod tests;
