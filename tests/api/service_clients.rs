//! Calling phone-auth as another service does: SessionService/Introspect and Envoy's
//! ext_authz Check, each with a service credential from SERVICE_TOKENS.
use envoy_types::{
    ext_authz::v3::pb::{CheckRequest, CheckResponse},
    pb::envoy::service::auth::v3::{
        AttributeContext, attribute_context::HttpRequest, attribute_context::Request as Attrs,
        authorization_client::AuthorizationClient,
    },
};
use phone_auth::proto::{
    IntrospectRequest, IntrospectResponse, session_service_client::SessionServiceClient,
};
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use crate::helpers::{Backing, TestApp};

/// The token of the service `orders` (43 base64url characters: 32 random bytes' worth).
pub const ORDERS_TOKEN: &str = "b3JkZXJzLXNlcnZpY2UtdG9rZW4tZm9yLXRlc3RzLTEy";
/// The token Envoy sends in its ext_authz calls.
pub const ENVOY_TOKEN: &str = "ZW52b3ktc2VydmljZS10b2tlbi1mb3ItdGhlLXRlc3RzLQ";

/// SERVICE_TOKENS naming `orders` and `envoy` by the SHA-256 of their tokens.
pub fn service_tokens() -> String {
    let hex = |token: &str| -> String {
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    format!("orders:{},envoy:{}", hex(ORDERS_TOKEN), hex(ENVOY_TOKEN))
}

/// A server that knows the `orders` and `envoy` services, with `vars` on top.
pub async fn spawn_for_services(vars: &[(&str, &str)]) -> TestApp {
    spawn_on_for_services(Backing::fresh().await, vars).await
}

pub async fn spawn_on_for_services(backing: Backing, vars: &[(&str, &str)]) -> TestApp {
    let tokens = service_tokens();
    let mut all = vec![("SERVICE_TOKENS", tokens.as_str())];
    all.extend_from_slice(vars);
    TestApp::spawn_on(backing, &all).await
}

fn with_credential<T>(credential: Option<&str>, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(credential) = credential {
        let value = credential.parse().expect("ascii credential");
        request.metadata_mut().insert("x-service-token", value);
    }
    request
}

/// Introspect `session_token` as the service holding `credential`.
pub async fn introspect(
    app: &TestApp,
    credential: Option<&str>,
    session_token: &str,
) -> Result<IntrospectResponse, Status> {
    let request = IntrospectRequest {
        session_token: session_token.into(),
    };
    SessionServiceClient::new(app.channel().await)
        .introspect(with_credential(credential, request))
        .await
        .map(|r| r.into_inner())
}

/// Introspect as `orders`, which must be allowed to ask.
pub async fn introspect_as_orders(app: &TestApp, session_token: &str) -> IntrospectResponse {
    introspect(app, Some(ORDERS_TOKEN), session_token)
        .await
        .expect("orders may introspect")
}

/// Check an HTTP request carrying `headers` (lower-case names, as Envoy sends them) as the
/// caller holding `credential`.
pub async fn check(
    app: &TestApp,
    credential: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<CheckResponse, Status> {
    let http = HttpRequest {
        method: "GET".into(),
        path: "/orders/42".into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let request = CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Attrs {
                http: Some(http),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    AuthorizationClient::new(app.channel().await)
        .check(with_credential(credential, request))
        .await
        .map(|r| r.into_inner())
}

/// Check as Envoy, which must be allowed to ask.
pub async fn check_as_envoy(app: &TestApp, headers: &[(&str, &str)]) -> CheckResponse {
    check(app, Some(ENVOY_TOKEN), headers)
        .await
        .expect("envoy may call Check")
}
