//! The gRPC layer: the AuthService implementation, the authentication, metrics, deadline and
//! transport-error layers, the codec, and the single mapping from domain errors to statuses.
mod auth_layer;
mod client_addr;
mod codec;
mod convert;
mod deadline;
mod metrics_layer;
mod page_token;
mod service;
mod status;
mod transport_errors;

pub use auth_layer::{AuthLayer, Authentication};
pub use codec::ProtoCodec;
pub use deadline::DeadlineLayer;
pub use metrics_layer::MetricsLayer;
pub use service::AuthApi;
pub use status::ERROR_DOMAIN;
pub use transport_errors::TransportErrorsLayer;
