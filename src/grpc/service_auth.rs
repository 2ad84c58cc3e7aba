//! Authenticating the services that call SessionService and ext_authz Check.
//!
//! Their credential travels in its own metadata entry, `x-service-token`, never in
//! `authorization`: that entry carries users' sessions, and a gateway forwards it from the
//! client. A user's token sent as a service credential (or the reverse) then finds nothing to
//! match, and no proxy that passes `authorization` through can lend a client a service's rights.
use std::sync::Arc;

use tonic::metadata::MetadataMap;

use super::credentials::SERVICE_METHODS;
pub use super::credentials::SERVICE_TOKEN_HEADER;
use crate::{config::ServiceTokens, domain::AuthError};

/// Calls by services, labelled by the calling service's name (from SERVICE_TOKENS, or
/// `rejected` when no credential matched) and method.
pub const SERVICE_CALLS: &str = "phoneauth_service_calls_total";

/// The label of calls whose credential matched no service.
const REJECTED: &str = "rejected";

/// One refusal for every way a credential can be wrong, so a caller learns nothing about which
/// services exist, or whether any does.
const REFUSAL: &str = "missing or unknown service credential: send metadata \
    `x-service-token: <token>` with a token whose SHA-256 is in the server's SERVICE_TOKENS";

/// The name of the service whose token the call carries, counted under `method`; otherwise
/// UNAUTHENTICATED, also when no SERVICE_TOKENS are configured at all.
pub fn authenticate_service(
    tokens: &ServiceTokens,
    metadata: &MetadataMap,
    method: &'static str,
) -> Result<Arc<str>, AuthError> {
    // The OpenAPI document marks the methods of SERVICE_METHODS as taking a service credential.
    debug_assert!(
        SERVICE_METHODS
            .iter()
            .any(|path| path.ends_with(&format!("/{method}"))),
        "{method} authenticates services but is not in credentials::SERVICE_METHODS"
    );
    let mut values = metadata.get_all(SERVICE_TOKEN_HEADER).iter();
    let (value, another) = (values.next(), values.next().is_some());
    // Two entries (a proxy's and a client's) leave it unclear whose call this is.
    let name = match (value, another) {
        (Some(value), false) => value.to_str().ok().and_then(|v| tokens.identify(v.trim())),
        _ => None,
    };
    let label = name.as_deref().unwrap_or(REJECTED).to_owned();
    metrics::counter!(SERVICE_CALLS, "service" => label, "method" => method).increment(1);
    match name {
        Some(name) => Ok(name),
        None => {
            tracing::warn!(method, "a service call without a valid service credential");
            Err(AuthError::Unauthenticated(REFUSAL))
        }
    }
}
