//! The gRPC layer: the AuthService implementation, SessionService and Envoy's ext_authz for
//! other services, the authentication, metrics, deadline and transport-error layers, the codec,
//! and the single mapping from domain errors to statuses.
mod auth_layer;
mod client_addr;
mod codec;
mod convert;
mod deadline;
mod ext_authz;
mod introspection;
mod metrics_layer;
mod page_token;
mod service;
mod service_auth;
mod status;
mod transport_errors;

pub use auth_layer::{AuthLayer, Authentication};
pub use codec::ProtoCodec;
pub use deadline::DeadlineLayer;
pub use ext_authz::{AuthorizationApi, USER_ID_HEADER, USER_PHONE_HEADER};
pub use introspection::SessionApi;
pub use metrics_layer::MetricsLayer;
pub use service::AuthApi;
pub use service_auth::{SERVICE_CALLS, SERVICE_TOKEN_HEADER};
pub use status::ERROR_DOMAIN;
pub use transport_errors::TransportErrorsLayer;
