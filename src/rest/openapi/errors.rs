//! The error answers: the `google.rpc.Status` JSON shape with its decoded details, and which
//! HTTP statuses each call can answer, from the one code-to-status table (`http_status.rs`).
use std::collections::BTreeSet;

use prost_reflect::DescriptorPool;
use serde_json::{Map, Value, json};

use super::schema::{Direction, Schemas};
use crate::{
    http_rule::HttpRoute,
    http_status::{GRPC_CODES, http_status_of},
};

/// The details our errors carry (`src/grpc/status.rs`, `tonic_types::ErrorDetails`).
const DETAILS: [&str; 4] = [
    "google.rpc.ErrorInfo",
    "google.rpc.BadRequest",
    "google.rpc.RetryInfo",
    "google.rpc.PreconditionFailure",
];

pub const STATUS_SCHEMA: &str = "#/components/schemas/google.rpc.Status";

/// How a call is authenticated, as far as its errors go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    None,
    Session,
    Service,
}

/// The HTTP statuses a call can answer besides 200: what every call can meet, what its
/// credential and body add, and the gRPC codes its proto comment names.
pub fn statuses_of(route: &HttpRoute, credential: Credential, comment: &str) -> BTreeSet<u16> {
    // Bad input; a failing store or SMS provider; the deadline; anything else.
    let mut statuses = BTreeSet::from([400, 500, 503, 504]);
    match credential {
        Credential::None => {}
        Credential::Service => {
            statuses.insert(401);
        }
        Credential::Session => {
            statuses.insert(401);
            // A call by session cookie without its CSRF token (GET needs none).
            if route.method != "GET" {
                statuses.insert(403);
            }
        }
    }
    if route.body {
        statuses.extend([413, 415]);
    }
    let named = comment
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter_map(|word| GRPC_CODES.iter().position(|(name, _)| *name == word));
    for code in named.filter(|code| *code != 0) {
        statuses.insert(http_status_of(code as i32));
    }
    statuses
}

/// `components.responses`: one per HTTP status in `statuses`, named by the status.
pub fn responses(statuses: &BTreeSet<u16>) -> Result<Map<String, Value>, String> {
    let mut responses = Map::new();
    for &status in statuses {
        let Some(what) = explanation(status) else {
            return Err(format!(
                "src/rest/openapi/errors.rs has no description of HTTP status {status}"
            ));
        };
        let codes: Vec<String> = GRPC_CODES
            .iter()
            .filter(|(name, http)| *http == status && *name != "OK")
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        let description = match codes.is_empty() {
            true => what.to_owned(),
            false => format!("{}: {what}", codes.join(" or ")),
        };
        let mut response = json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": STATUS_SCHEMA } } },
        });
        if let Some(headers) = headers(status) {
            response["headers"] = headers;
        }
        responses.insert(response_name(status), response);
    }
    Ok(responses)
}

/// The name of the response of `status` under `components.responses`.
pub fn response_name(status: u16) -> String {
    format!("Error{status}")
}

/// google.rpc.Status and the details it carries, each detail with its `@type`.
pub fn add_schemas(pool: &DescriptorPool, schemas: &mut Schemas) -> Result<(), String> {
    let find = |name: &str| {
        pool.get_message_by_name(name)
            .ok_or(format!("the descriptor pool lacks {name}"))
    };
    schemas.reference(&find("google.rpc.Status")?, Direction::Answer);
    for name in DETAILS {
        schemas.reference(&find(name)?, Direction::Answer);
    }
    Ok(())
}

/// Ties the detail schemas into Status: `details` holds any of them, told apart by `@type`.
pub fn finish_schemas(components: &mut Map<String, Value>) {
    let mut one_of = Vec::new();
    for name in DETAILS {
        let Some(detail) = components.get_mut(name) else {
            continue;
        };
        let type_url = format!("type.googleapis.com/{name}");
        detail["properties"]["@type"] = json!({ "type": "string", "const": type_url });
        if let Some(required) = detail["required"].as_array_mut() {
            required.insert(0, json!("@type"));
        }
        one_of.push(json!({ "$ref": format!("#/components/schemas/{name}") }));
    }
    if let Some(status) = components.get_mut("google.rpc.Status") {
        status["properties"]["details"]["items"] = json!({ "oneOf": one_of });
        status["properties"]["details"]["description"] = json!(
            "What went wrong, for programs: always an ErrorInfo whose `reason` is stable \
             (branch on it, not on `message`); a BadRequest naming the field for bad input; a \
             RetryInfo when retrying later can succeed; a PreconditionFailure for a referral \
             rule."
        );
    }
}

/// What a status means for our calls, after the gRPC codes that answer with it.
fn explanation(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => {
            "the request is malformed or a field is wrong: ErrorInfo.reason says which \
             (`INVALID_FIELD`, `WRONG_CODE`, `OWN_INVITE_CODE`, `MALFORMED_REQUEST`) and a \
             BadRequest detail names the field"
        }
        401 => {
            "the credential is missing, malformed, unknown, expired or revoked (log in again); \
             sent with `WWW-Authenticate: Bearer`"
        }
        403 => {
            "the caller may not make this call (`PERMISSION_DENIED`: ListUsers by someone not \
             in ADMIN_PHONES), or a call authenticated by the session cookie lacks the matching \
             `x-csrf-token` (`CSRF_TOKEN_INVALID`)"
        }
        404 => "what the request names does not exist (`INVITE_CODE_NOT_FOUND`)",
        409 => "the change was already made (`INVITER_ALREADY_SET`)",
        412 => {
            "a rule forbids the change; a PreconditionFailure detail says which \
             (`REFERRAL_CYCLE`)"
        }
        413 => "the body is larger than the server's MAX_REQUEST_BYTES (`REQUEST_TOO_LARGE`)",
        415 => "the body is not `Content-Type: application/json`",
        429 => {
            "a rate limit refused the call (`THROTTLED`); RetryInfo and `Retry-After` say \
             when to try again"
        }
        499 => "the client went away before the answer",
        500 => "an internal error; its cause is logged on the server, never sent",
        501 => "not implemented",
        503 => {
            "a store, SMS delivery or the service-wide SMS budget cannot be used right now \
             (`UNAVAILABLE`; the message names which); retry shortly, after `Retry-After` \
             when it is sent"
        }
        504 => "the call did not finish within its deadline (`DEADLINE_EXCEEDED`)",
        _ => return None,
    })
}

fn headers(status: u16) -> Option<Value> {
    let retry_after = json!({
        "description": "Whole seconds to wait before retrying (RetryInfo's delay, rounded up)",
        "schema": { "type": "integer", "minimum": 1 },
    });
    match status {
        401 => Some(json!({
            "WWW-Authenticate": {
                "description": "`Bearer`",
                "schema": { "type": "string" },
            }
        })),
        429 | 503 => Some(json!({ "Retry-After": retry_after })),
        _ => None,
    }
}
