//! Which calls need which credential, and where it travels.
//!
//! One file shared by the server (the auth layer, `service_auth.rs`) and by build.rs (the
//! security of each call in the OpenAPI document), so that the document cannot call a call open
//! that the server refuses, or the reverse. It depends on nothing for that reason.

/// RPCs that need a user's session, sent as `authorization: Bearer <session_token>` (or, over
/// REST from a same-origin page, as the session cookie); every other path passes the auth
/// layer untouched.
pub const AUTHENTICATED_METHODS: &[&str] = &[
    "/phoneauth.v1.AuthService/GetProfile",
    "/phoneauth.v1.AuthService/SetInviter",
    "/phoneauth.v1.AuthService/Logout",
    "/phoneauth.v1.AuthService/LogoutAll",
    "/phoneauth.v1.AuthService/ListUsers",
];

/// RPCs that only other services call, with a service credential in [`SERVICE_TOKEN_HEADER`]
/// (never a user's session).
pub const SERVICE_METHODS: &[&str] = &[
    "/phoneauth.v1.SessionService/Introspect",
    "/envoy.service.auth.v3.Authorization/Check",
];

/// The metadata entry (HTTP header over REST) that carries a service token.
pub const SERVICE_TOKEN_HEADER: &str = "x-service-token";
