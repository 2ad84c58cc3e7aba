//! The names of the browser session: its cookies and headers (`session_cookie.rs` says how they
//! work together).
//!
//! One file shared by the server and by build.rs, which documents them as the cookie
//! alternative to the bearer token in the OpenAPI document. It depends on nothing for that
//! reason.

/// The HttpOnly cookie that carries the session token.
pub const SESSION_COOKIE: &str = "phoneauth_session";
/// The readable cookie with the CSRF token of the session.
pub const CSRF_COOKIE: &str = "phoneauth_csrf";
/// The header a state-changing call by cookie repeats the CSRF cookie's value in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sent by a login that wants the session as a cookie; its value is [`COOKIE_DELIVERY`].
pub const DELIVERY_HEADER: &str = "x-session-delivery";
/// The value of [`DELIVERY_HEADER`] that asks for the cookie.
pub const COOKIE_DELIVERY: &str = "cookie";
