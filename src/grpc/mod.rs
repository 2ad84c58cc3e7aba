//! The gRPC layer: the AuthService implementation, the authentication, metrics, deadline and
//! size-limit layers and how they stack with gRPC-Web and CORS, the codec, and the single
//! mapping from domain errors to statuses.
mod auth_layer;
mod client_addr;
mod codec;
mod convert;
mod deadline;
mod metrics_layer;
mod oversize;
mod page_token;
mod service;
mod stack;
mod status;
mod web_status;

pub use auth_layer::{AuthLayer, Authentication};
pub use codec::ProtoCodec;
pub use deadline::DeadlineLayer;
pub use metrics_layer::MetricsLayer;
pub use oversize::OversizeLayer;
pub use service::AuthApi;
pub use stack::{ServiceLayers, cors_layer, service_layers};
pub use status::ERROR_DOMAIN;
