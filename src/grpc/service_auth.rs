//! Authenticating the services that call SessionService and ext_authz Check.
//!
//! Their credential travels in its own metadata entry, `x-service-token`, never in
//! `authorization`: that entry carries users' sessions, and a gateway forwards it from the
//! client. A user's token sent as a service credential (or the reverse) then finds nothing to
//! match, and no proxy that passes `authorization` through can lend a client a service's rights.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use metrics::Counter;
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

/// The credential check of one method, with its call counters.
#[derive(Clone)]
pub struct ServiceGate {
    tokens: ServiceTokens,
    method: &'static str,
    /// The counter of each service name (and `rejected`) for this method, resolved at its first
    /// call: the registry's lookup, with a label allocated per call, was ~2 % of an Introspect.
    /// Bounded by SERVICE_TOKENS. Resolved lazily, after startup has installed the recorder.
    counters: Arc<Mutex<HashMap<Arc<str>, Counter>>>,
}

impl ServiceGate {
    pub fn new(tokens: ServiceTokens, method: &'static str) -> Self {
        // The OpenAPI document marks the methods of SERVICE_METHODS as taking a credential.
        debug_assert!(
            SERVICE_METHODS
                .iter()
                .any(|path| path.ends_with(&format!("/{method}"))),
            "{method} authenticates services but is not in credentials::SERVICE_METHODS"
        );
        Self {
            tokens,
            method,
            counters: Arc::default(),
        }
    }

    /// The name of the service whose token the call carries, counted; otherwise
    /// UNAUTHENTICATED, also when no SERVICE_TOKENS are configured at all.
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Arc<str>, AuthError> {
        let mut values = metadata.get_all(SERVICE_TOKEN_HEADER).iter();
        let (value, another) = (values.next(), values.next().is_some());
        // Two entries (a proxy's and a client's) leave it unclear whose call this is.
        let name = match (value, another) {
            (Some(value), false) => value
                .to_str()
                .ok()
                .and_then(|v| self.tokens.identify(v.trim())),
            _ => None,
        };
        self.count(name.as_deref().unwrap_or(REJECTED));
        match name {
            Some(name) => Ok(name),
            None => {
                let method = self.method;
                tracing::warn!(method, "a service call without a valid service credential");
                Err(AuthError::Unauthenticated(REFUSAL))
            }
        }
    }

    fn count(&self, service: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counter) = counters.get(service) {
            return counter.increment(1);
        }
        let counter = metrics::counter!(
            SERVICE_CALLS, "service" => service.to_owned(), "method" => self.method
        );
        counter.increment(1);
        counters.insert(service.into(), counter);
    }
}
