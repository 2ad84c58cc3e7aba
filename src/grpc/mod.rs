//! The gRPC layer: the AuthService implementation, SessionService and Envoy's ext_authz for
//! other services, the authentication, metrics, deadline and transport-error layers and how they
//! stack with gRPC-Web and CORS, the codec, and the single mapping from domain errors to statuses.
mod auth_layer;
mod client_addr;
mod codec;
mod convert;
mod credentials;
mod deadline;
mod ext_authz;
mod introspection;
mod metrics_layer;
mod page_token;
mod service;
mod service_auth;
mod stack;
mod status;
mod transport_errors;
mod web_status;

pub use auth_layer::{AuthLayer, Authentication, requires_session};
pub use codec::ProtoCodec;
pub use deadline::DeadlineLayer;
pub use ext_authz::{AuthorizationApi, USER_ID_HEADER, USER_PHONE_HEADER};
pub use introspection::SessionApi;
pub use metrics_layer::MetricsLayer;
pub use service::AuthApi;
pub use service_auth::{SERVICE_CALLS, SERVICE_TOKEN_HEADER};
pub use stack::{ServiceLayers, cors_layer, service_layers};
pub use status::{ERROR_DOMAIN, deadline_exceeded, request_too_large};
pub use transport_errors::TransportErrorsLayer;
