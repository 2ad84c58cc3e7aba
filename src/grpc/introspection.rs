//! SessionService: backends ask whose a user's session token is. The handler authenticates the
//! calling service, parses the token, asks [`Auth::introspect`] and converts the answer.
use tonic::{Request, Response, Status};

use super::{convert::timestamp, service_auth::ServiceGate};
use crate::{
    auth::{ActiveSession, Auth},
    config::ServiceTokens,
    domain::SessionToken,
    proto::{self as pb, session_service_server::SessionService},
};

/// The gRPC face of session introspection, for services holding a SERVICE_TOKENS credential.
#[derive(Clone)]
pub struct SessionApi {
    auth: Auth,
    services: ServiceGate,
}

impl SessionApi {
    pub fn new(auth: Auth, services: ServiceTokens) -> Self {
        Self {
            auth,
            services: ServiceGate::new(services, "Introspect"),
        }
    }
}

#[tonic::async_trait]
impl SessionService for SessionApi {
    async fn introspect(
        &self,
        request: Request<pb::IntrospectRequest>,
    ) -> Result<Response<pb::IntrospectResponse>, Status> {
        let service = self.services.authenticate(request.metadata())?;
        // A malformed token is answered like an unknown one: inactive, not INVALID_ARGUMENT.
        let active = match SessionToken::parse(&request.get_ref().session_token) {
            Ok(token) => self.auth.introspect(&token).await?,
            Err(_) => None,
        };
        tracing::debug!(%service, active = active.is_some(), "introspected a session");
        Ok(Response::new(active.map(Into::into).unwrap_or_default()))
    }
}

impl From<ActiveSession> for pb::IntrospectResponse {
    fn from(session: ActiveSession) -> Self {
        Self {
            active: true,
            user_id: session.user_id,
            phone_number: session.phone_number,
            invite_code: session.invite_code.to_string(),
            admin: session.admin,
            expires_at: timestamp(session.expires_at),
        }
    }
}
