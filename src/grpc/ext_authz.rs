//! Envoy's external authorization (`envoy.service.auth.v3.Authorization/Check`): an Envoy in
//! front of any backend asks, per request, whether the request's `authorization: Bearer
//! <session token>` is a live session.
//!
//! - Allowed: the request goes upstream with `x-user-id` and `x-user-phone` set with
//!   OVERWRITE_IF_EXISTS_OR_ADD, which replaces every copy the client sent. The identity headers
//!   are deliberately not also listed in `headers_to_remove`: Envoy applies removals after the
//!   headers it sets, which would strip ours too. (deploy/envoy-ext-authz.yaml strips client
//!   copies before the check as well, so that exempted paths never carry them either.)
//! - Denied: 401 with `WWW-Authenticate: Bearer`, for a missing, repeated, malformed, unknown,
//!   expired or revoked token alike; 503 when the session store cannot answer.
//!
//! The caller (Envoy) authenticates like any service: `x-service-token`, which Envoy's
//! ext_authz filter sends through `grpc_service.initial_metadata`.
use envoy_types::{
    ext_authz::v3::pb::{
        Authorization, CheckRequest, CheckResponse, DeniedHttpResponse, HeaderAppendAction,
        HeaderValue, HeaderValueOption, HttpResponse, HttpStatus, HttpStatusCode, OkHttpResponse,
    },
    pb::{
        envoy::service::auth::v3::attribute_context::HttpRequest, google::rpc::Status as RpcStatus,
    },
};
use tonic::{Code, Request, Response, Status};

use super::{auth_layer::bearer_token, service_auth::ServiceGate};
use crate::{
    auth::Auth,
    config::ServiceTokens,
    domain::{AuthError, Caller},
};

/// The upstream headers that carry the caller's identity.
pub const USER_ID_HEADER: &str = "x-user-id";
pub const USER_PHONE_HEADER: &str = "x-user-phone";

/// The gRPC face of ext_authz, for an Envoy holding a SERVICE_TOKENS credential.
#[derive(Clone)]
pub struct AuthorizationApi {
    auth: Auth,
    services: ServiceGate,
}

impl AuthorizationApi {
    pub fn new(auth: Auth, services: ServiceTokens) -> Self {
        Self {
            auth,
            services: ServiceGate::new(services, "Check"),
        }
    }
}

#[tonic::async_trait]
impl Authorization for AuthorizationApi {
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        self.services.authenticate(request.metadata())?;
        let http = request
            .get_ref()
            .attributes
            .as_ref()
            .and_then(|attributes| attributes.request.as_ref())
            .and_then(|request| request.http.as_ref());
        let Some(token) = http.and_then(authorization).and_then(bearer_token) else {
            return Ok(Response::new(unauthenticated()));
        };
        Ok(Response::new(match self.auth.authenticate(&token).await {
            Ok(caller) => allowed(&caller),
            Err(AuthError::Unauthenticated(_)) => unauthenticated(),
            Err(error) => {
                tracing::warn!(error = ?error, "session lookup failed in ext_authz Check");
                denied(
                    Code::Unavailable,
                    HttpStatusCode::ServiceUnavailable,
                    vec![],
                )
            }
        }))
    }
}

/// The request's one `authorization` value. Envoy sends headers either as a map (lower-case
/// keys, repeated headers joined by commas, which no token parses past) or, with
/// `encode_raw_headers`, as a list; in the list two entries count as none.
fn authorization(http: &HttpRequest) -> Option<&str> {
    if let Some(value) = http.headers.get("authorization") {
        return Some(value);
    }
    let mut entries = http
        .header_map
        .as_ref()?
        .headers
        .iter()
        .filter(|h| h.key.eq_ignore_ascii_case("authorization"));
    let (entry, another) = (entries.next()?, entries.next().is_some());
    if another {
        return None;
    }
    match entry.raw_value.is_empty() {
        true => Some(&entry.value),
        false => std::str::from_utf8(&entry.raw_value).ok(),
    }
}

fn allowed(caller: &Caller) -> CheckResponse {
    CheckResponse {
        status: Some(rpc_status(Code::Ok)),
        http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
            headers: vec![
                overwrite(USER_ID_HEADER, &caller.user_id.to_string()),
                overwrite(USER_PHONE_HEADER, &caller.phone_number),
            ],
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn unauthenticated() -> CheckResponse {
    let challenge = overwrite("www-authenticate", "Bearer");
    denied(
        Code::Unauthenticated,
        HttpStatusCode::Unauthorized,
        vec![challenge],
    )
}

fn denied(code: Code, http: HttpStatusCode, headers: Vec<HeaderValueOption>) -> CheckResponse {
    CheckResponse {
        status: Some(rpc_status(code)),
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus { code: http.into() }),
            headers,
            body: String::new(),
        })),
        ..Default::default()
    }
}

fn rpc_status(code: Code) -> RpcStatus {
    RpcStatus {
        code: code.into(),
        ..Default::default()
    }
}

/// A header set to `value`, replacing every value it had.
fn overwrite(key: &str, value: &str) -> HeaderValueOption {
    #[allow(deprecated)] // `append` is deprecated; `append_action` replaces it.
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.into(),
            value: value.into(),
            raw_value: Vec::new(),
        }),
        append: None,
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
        keep_empty_value: false,
    }
}
