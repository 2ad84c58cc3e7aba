//! The session as a browser cookie, for same-origin pages (the built-in page at `/`), so that
//! the token is out of reach of the page's scripts.
//!
//! - A login that sends `x-session-delivery: cookie` gets the token as an HttpOnly, Secure,
//!   SameSite=Strict cookie, and an empty `sessionToken` in its body.
//! - With no `authorization` header, the cookie authenticates the calls that need a session.
//!   A state-changing one (anything but GET) must also carry `x-csrf-token` equal to the
//!   `phoneauth_csrf` cookie: an HMAC of the session token under SECRET_KEY that the page can
//!   read and another site cannot (signed double submit). SameSite=Strict already keeps the
//!   cookie off cross-site requests; the token is the second lock, for browsers that ignore it
//!   and for sibling subdomains, which count as same-site.
//! - A logout made by cookie clears both cookies.
//!
//! docs/security.md says what this trusts and why.
use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    domain::{Digest, SecretKey, SessionToken},
    grpc::ERROR_DOMAIN,
};

pub use super::browser_credentials::{
    COOKIE_DELIVERY, CSRF_COOKIE, CSRF_HEADER, DELIVERY_HEADER, SESSION_COOKIE,
};

/// Whether a login asked for its session as a cookie.
pub fn wants_cookie(headers: &HeaderMap) -> bool {
    headers.get(DELIVERY_HEADER).is_some_and(|value| {
        value
            .as_bytes()
            .eq_ignore_ascii_case(COOKIE_DELIVERY.as_bytes())
    })
}

/// Turns the session cookie into the `authorization` header the auth layer reads, after the
/// CSRF check; returns whether it did. A call with its own `authorization` header is left as
/// it is: the header is what an API client means.
pub fn authorize(parts: &mut Parts, key: &SecretKey) -> Result<bool, Status> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return Ok(false);
    }
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(false);
    };
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let expected = SessionToken::parse(&token)
            .map(|token| key.csrf_digest(&token))
            .ok();
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|value| URL_SAFE_NO_PAD.decode(value.as_bytes()).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Digest);
        // A malformed cookie passes on, to be refused by the auth layer like a malformed header.
        if expected.is_some() && (sent.is_none() || sent != expected) {
            return Err(csrf_refused());
        }
    }
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| Status::unauthenticated("the session cookie is not a session token"))?;
    parts.headers.insert(header::AUTHORIZATION, bearer);
    Ok(true)
}

/// The `Set-Cookie` values that hand `token` to the browser for `max_age_seconds`.
pub fn issue(token: &str, key: &SecretKey, max_age_seconds: u64) -> Option<[HeaderValue; 2]> {
    let parsed = SessionToken::parse(token).ok()?;
    let csrf = URL_SAFE_NO_PAD.encode(key.csrf_digest(&parsed).0);
    Some([
        set_cookie(SESSION_COOKIE, token, max_age_seconds, true),
        set_cookie(CSRF_COOKIE, &csrf, max_age_seconds, false),
    ])
}

/// The `Set-Cookie` values that make the browser forget the session.
pub fn clear() -> [HeaderValue; 2] {
    [
        set_cookie(SESSION_COOKIE, "", 0, true),
        set_cookie(CSRF_COOKIE, "", 0, false),
    ]
}

/// Secure always: browsers keep Secure cookies on http://localhost for development, and
/// anywhere else the page must be served over TLS (by us or by a proxy in front).
fn set_cookie(name: &str, value: &str, max_age: u64, http_only: bool) -> HeaderValue {
    let http_only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; Secure; SameSite=Strict{http_only}"
    ))
    .expect("cookie names and base64url values are valid header text")
}

/// The value of cookie `name`, when the request carries exactly one.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned());
    let first = found.next()?;
    // Two cookies of one name (one planted for a parent domain, say): which is ours is a guess.
    found.next().is_none().then_some(first)
}

fn csrf_refused() -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info("CSRF_TOKEN_INVALID", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(
        Code::PermissionDenied,
        format!(
            "a call authenticated by the {SESSION_COOKIE} cookie must send the value of the \
             {CSRF_COOKIE} cookie in the {CSRF_HEADER} header"
        ),
        details,
    )
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder().method(method).uri("/users/profile/");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_state_change_by_cookie_needs_the_matching_csrf_token() {
        let key = SecretKey::new(vec![1u8; 32]).unwrap();
        let token = SessionToken::generate().expose();
        let [session, csrf] = issue(&token, &key, 60).unwrap();
        assert!(session.to_str().unwrap().contains("HttpOnly"));
        assert!(!csrf.to_str().unwrap().contains("HttpOnly"));
        let csrf =
            csrf.to_str().unwrap().split(';').next().unwrap()["phoneauth_csrf=".len()..].to_owned();
        let cookie = format!("phoneauth_session={token}; phoneauth_csrf={csrf}");

        let mut read = parts(Method::GET, &[("cookie", &cookie)]);
        assert!(authorize(&mut read, &key).unwrap());
        assert_eq!(
            read.headers[header::AUTHORIZATION],
            format!("Bearer {token}")
        );

        let mut forged = parts(Method::POST, &[("cookie", &cookie)]);
        assert_eq!(
            authorize(&mut forged, &key).unwrap_err().code(),
            Code::PermissionDenied
        );
        let other_key = SecretKey::new(vec![2u8; 32]).unwrap();
        let mut wrong = parts(Method::POST, &[("cookie", &cookie), (CSRF_HEADER, &csrf)]);
        assert!(authorize(&mut wrong, &other_key).is_err());

        let mut good = parts(Method::PATCH, &[("cookie", &cookie), (CSRF_HEADER, &csrf)]);
        assert!(authorize(&mut good, &key).unwrap());
    }

    #[test]
    fn a_bearer_header_wins_and_two_session_cookies_are_none() {
        let key = SecretKey::new(vec![1u8; 32]).unwrap();
        let mut bearer = parts(
            Method::POST,
            &[
                ("authorization", "Bearer x"),
                ("cookie", "phoneauth_session=y"),
            ],
        );
        assert!(!authorize(&mut bearer, &key).unwrap());
        assert_eq!(bearer.headers[header::AUTHORIZATION], "Bearer x");
        let mut twice = parts(
            Method::GET,
            &[("cookie", "phoneauth_session=a; phoneauth_session=b")],
        );
        assert!(!authorize(&mut twice, &key).unwrap());
        assert!(!twice.headers.contains_key(header::AUTHORIZATION));
    }
}
