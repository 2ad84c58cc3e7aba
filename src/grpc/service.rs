//! The AuthService RPCs: convert the request into domain values, call [`Auth`], convert back.
//! Authentication and metrics are tower layers around them (`auth_layer`, `metrics_layer`).
use tonic::{Request, Response, Status};

use ipnet::IpNet;

use super::{auth_layer::caller, client_addr::client_addr, page_token};
use crate::{
    auth::{Auth, page_size},
    domain::{AuthError, InviteCode, InviteCodeError, PhoneNumber, VerificationCode},
    proto::{self as pb, auth_service_server::AuthService},
};

/// The gRPC face of [`Auth`].
#[derive(Clone)]
pub struct AuthApi {
    auth: Auth,
    trusted_proxies: std::sync::Arc<[IpNet]>,
}

impl AuthApi {
    pub fn new(auth: Auth, trusted_proxies: &[IpNet]) -> Self {
        Self {
            auth,
            trusted_proxies: trusted_proxies.into(),
        }
    }

    fn phone(&self, input: &str) -> Result<PhoneNumber, AuthError> {
        PhoneNumber::parse(input, self.auth.default_region())
            .map_err(|e| AuthError::invalid("phone_number", e))
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn request_code(
        &self,
        request: Request<pb::RequestCodeRequest>,
    ) -> Result<Response<pb::RequestCodeResponse>, Status> {
        let phone = self.phone(&request.get_ref().phone_number)?;
        let client = client_addr(&request, &self.trusted_proxies);
        let sent = self.auth.request_code(phone, client).await?;
        Ok(Response::new(pb::RequestCodeResponse {
            phone_number: sent.phone.as_e164().to_owned(),
            expires_in_seconds: sent.expires_in_seconds,
            resend_after_seconds: sent.resend_after_seconds,
            debug_code: sent
                .debug_code
                .map(|c| c.expose().to_owned())
                .unwrap_or_default(),
            code_length: self.auth.code_length() as u32,
        }))
    }

    async fn verify_code(
        &self,
        request: Request<pb::VerifyCodeRequest>,
    ) -> Result<Response<pb::VerifyCodeResponse>, Status> {
        let body = request.get_ref();
        let phone = self.phone(&body.phone_number)?;
        let code = VerificationCode::parse(&body.verification_code, self.auth.code_length())
            .map_err(|e| AuthError::invalid("verification_code", e))?;
        let client = client_addr(&request, &self.trusted_proxies);
        let login = self.auth.verify_code(phone, code, client).await?;
        Ok(Response::new(pb::VerifyCodeResponse {
            session_token: login.token.expose(),
            profile: Some(login.profile.into()),
            created: login.created,
            session_expires_at: super::convert::timestamp(login.session_expires_at),
        }))
    }

    async fn get_profile(
        &self,
        request: Request<pb::GetProfileRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let after = page_token::decode(&body.referrals_page_token, "referrals_page_token")?;
        let profile = self
            .auth
            .profile(&caller, after, page_size(body.referrals_page_size))
            .await?;
        Ok(Response::new(profile.into()))
    }

    async fn set_inviter(
        &self,
        request: Request<pb::SetInviterRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        let caller = caller(&request)?;
        let input = &request.get_ref().invited_by;
        let code = match InviteCode::parse(input) {
            Ok(code) => code,
            Err(InviteCodeError::Empty) => {
                return Err(AuthError::invalid("invited_by", InviteCodeError::Empty).into());
            }
            // A string that cannot be any code names no user: answer as for an unknown code,
            // without repeating what was sent.
            Err(InviteCodeError::Malformed) => {
                return Err(AuthError::InviteCodeNotFound(None).into());
            }
        };
        let client = client_addr(&request, &self.trusted_proxies);
        let profile = self.auth.set_inviter(&caller, code, client).await?;
        Ok(Response::new(profile.into()))
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        let caller = caller(&request)?;
        self.auth.logout(&caller).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn logout_all(
        &self,
        request: Request<pb::LogoutAllRequest>,
    ) -> Result<Response<pb::LogoutAllResponse>, Status> {
        let caller = caller(&request)?;
        let revoked_sessions = self.auth.logout_all(&caller).await?;
        Ok(Response::new(pb::LogoutAllResponse { revoked_sessions }))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let caller = caller(&request)?;
        let body = request.get_ref();
        let after = page_token::decode(&body.page_token, "page_token")?;
        let page = self
            .auth
            .list_users(&caller, after, page_size(body.page_size))
            .await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page_token::encode(page.next_after),
        }))
    }
}
