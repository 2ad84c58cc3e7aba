//! The gRPC layer: the AuthService implementation, the authentication and metrics layers, and
//! the single mapping from domain errors to statuses.
mod auth_layer;
mod client_addr;
mod convert;
mod metrics_layer;
mod page_token;
mod service;
mod status;

pub use auth_layer::{AuthLayer, Authentication};
pub use metrics_layer::MetricsLayer;
pub use service::AuthApi;
pub use status::ERROR_DOMAIN;
