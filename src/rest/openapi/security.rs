//! Who may make each call, from the lists the server checks (`src/grpc/credentials.rs`), and
//! how each credential is sent.
use serde_json::{Value, json};

use super::errors::Credential;
use crate::{
    browser_credentials::{CSRF_COOKIE, CSRF_HEADER, DELIVERY_HEADER, SESSION_COOKIE},
    credentials::{AUTHENTICATED_METHODS, SERVICE_METHODS, SERVICE_TOKEN_HEADER},
};

const BEARER: &str = "bearerAuth";
const COOKIE: &str = "sessionCookie";
const CSRF: &str = "csrfToken";
const SERVICE: &str = "serviceToken";

/// The credential the call at gRPC path `grpc_path` needs.
pub fn credential_of(grpc_path: &str) -> Credential {
    if AUTHENTICATED_METHODS.contains(&grpc_path) {
        Credential::Session
    } else if SERVICE_METHODS.contains(&grpc_path) {
        Credential::Service
    } else {
        Credential::None
    }
}

/// The operation's `security`: alternatives, any one of which will do; `None` for an open call.
pub fn requirement(credential: Credential, http_method: &str) -> Option<Value> {
    match credential {
        Credential::None => None,
        Credential::Service => Some(json!([{ SERVICE: [] }])),
        // A GET changes nothing, so the cookie alone will do; anything else needs the CSRF
        // header beside it.
        Credential::Session if http_method == "GET" => {
            Some(json!([{ BEARER: [] }, { COOKIE: [] }]))
        }
        Credential::Session => Some(json!([{ BEARER: [] }, { COOKIE: [], CSRF: [] }])),
    }
}

/// `components.securitySchemes`.
pub fn schemes() -> Value {
    json!({
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "opaque session token, 43 characters of base64url",
            "description": "The `sessionToken` of VerifyCode (`POST /users/user_login/`), sent \
                as `authorization: Bearer <session_token>`. It lasts until it expires \
                (`sessionExpiresAt`) or Logout or LogoutAll revokes it.",
        },
        COOKIE: {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": format!(
                "For pages on this server's own origin: a login sent with `{DELIVERY_HEADER}: \
                 cookie` answers an empty `sessionToken` and sets this HttpOnly cookie (and the \
                 readable `{CSRF_COOKIE}`); the browser then sends it by itself. Used only when \
                 the call has no `authorization` header."
            ),
        },
        CSRF: {
            "type": "apiKey",
            "in": "header",
            "name": CSRF_HEADER,
            "description": format!(
                "The value of the `{CSRF_COOKIE}` cookie, which every call authenticated by \
                 the `{SESSION_COOKIE}` cookie must repeat here unless it is a GET \
                 (403 `CSRF_TOKEN_INVALID` otherwise)."
            ),
        },
        SERVICE: {
            "type": "apiKey",
            "in": "header",
            "name": SERVICE_TOKEN_HEADER,
            "description": "For other services, never end users: a service's own token, \
                whose SHA-256 is listed in the server's SERVICE_TOKENS.",
        },
    })
}
