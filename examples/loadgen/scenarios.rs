//! The calls each scenario makes, as [`Op`]s, and the untimed calls that prepare their inputs.
//! The calls of other services (Introspect, ext_authz Check) are in `services`.
use std::sync::{Arc, Mutex};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use phone_auth::proto::{
    GetProfileRequest, ListUsersRequest, RequestCodeRequest, SetInviterRequest, VerifyCodeRequest,
    auth_service_client::AuthServiceClient,
};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    engine::{Op, op},
    seed::invite_code,
    server::HEALTH_SERVICE,
};

mod services;
mod web;

pub use services::{ext_authz_check, introspect};
pub use web::{grpc_web_get_profile, rest_get_profile};

/// `authorization: Bearer <token>`, ready to attach.
pub type Bearer = MetadataValue<Ascii>;

pub fn bearer(token: &str) -> Bearer {
    format!("Bearer {token}").parse().expect("tokens are ascii")
}

fn authed<T>(bearer: &Bearer, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer.clone());
    request
}

/// A well-mixed 64-bit hash (splitmix64), to spread picks over a range without a shared RNG.
pub fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A phone with its pending code.
pub type Pending = (String, String);

pub fn health_check() -> Op {
    op(|channel, _| async move {
        let request = HealthCheckRequest {
            service: HEALTH_SERVICE.into(),
        };
        HealthClient::new(channel).check(request).await.map(drop)
    })
}

/// GetProfile (first page of the default size) round-robin over `tokens`; fails unless the
/// profile has `referrals` in total.
pub fn get_profile(tokens: Arc<Vec<Bearer>>, referrals: u64) -> Op {
    get_profile_page(tokens, referrals, 0)
}

/// GetProfile asking for a first page of `page_size` referrals (0: the server's default).
pub fn get_profile_page(tokens: Arc<Vec<Bearer>>, referrals: u64, page_size: u32) -> Op {
    op(move |channel, i| {
        let request = authed(
            &tokens[i as usize % tokens.len()],
            GetProfileRequest {
                referrals_page_size: page_size,
                ..Default::default()
            },
        );
        async move {
            let profile = AuthServiceClient::new(channel)
                .get_profile(request)
                .await?
                .into_inner();
            expect(profile.referral_count == referrals, "wrong referral_count")
        }
    })
}

/// RequestCode for `phones(base + i)`; the (phone, debug_code) pairs go to `sink` if given.
pub fn request_code(
    phones: impl Fn(u64) -> String + Send + Sync + 'static,
    base: u64,
    sink: Option<Arc<Mutex<Vec<Pending>>>>,
) -> Op {
    op(move |channel, i| {
        let phone = phones(base + i);
        let sink = sink.clone();
        async move {
            let request = RequestCodeRequest {
                phone_number: phone,
            };
            let sent = AuthServiceClient::new(channel)
                .request_code(request)
                .await?
                .into_inner();
            expect(
                !sent.debug_code.is_empty(),
                "no debug_code: is SMS_PROVIDER=console?",
            )?;
            if let Some(sink) = sink {
                sink.lock()
                    .expect("sink")
                    .push((sent.phone_number, sent.debug_code));
            }
            Ok(())
        }
    })
}

/// VerifyCode with `pending[base + i]`; fails unless `created` is as expected; the session
/// tokens go to `sink` if given.
pub fn verify_code(
    pending: Arc<Vec<Pending>>,
    base: u64,
    created: bool,
    sink: Option<Arc<Mutex<Vec<Bearer>>>>,
) -> Op {
    op(move |channel, i| {
        let (phone, code) = pending[(base + i) as usize].clone();
        let sink = sink.clone();
        async move {
            let request = VerifyCodeRequest {
                phone_number: phone,
                verification_code: code,
            };
            let login = AuthServiceClient::new(channel)
                .verify_code(request)
                .await?
                .into_inner();
            expect(login.created == created, "unexpected `created`")?;
            if let Some(sink) = sink {
                sink.lock()
                    .expect("sink")
                    .push(bearer(&login.session_token));
            }
            Ok(())
        }
    })
}

/// A whole login of a new user: RequestCode for `phones[base + i]`, then VerifyCode with the
/// code the console sender answered; fails unless the user was created.
pub fn full_login(phones: Arc<Vec<String>>, base: u64) -> Op {
    op(move |channel, i| {
        let phone = phones[(base + i) as usize].clone();
        async move {
            let mut client = AuthServiceClient::new(channel);
            let request = RequestCodeRequest {
                phone_number: phone.clone(),
            };
            let sent = client.request_code(request).await?.into_inner();
            let request = VerifyCodeRequest {
                phone_number: phone,
                verification_code: sent.debug_code,
            };
            let login = client.verify_code(request).await?.into_inner();
            expect(login.created, "a new phone's login did not create its user")
        }
    })
}

/// SetInviter for the caller `callers[base + i]`, naming a seeded user picked from
/// `inviters` (user ids) by a hash of i.
pub fn set_inviter(callers: Arc<Vec<Bearer>>, base: u64, inviters: std::ops::Range<u64>) -> Op {
    op(move |channel, i| {
        let inviter = inviters.start + mix(base + i) % (inviters.end - inviters.start);
        let code = invite_code(inviter);
        let request = authed(
            &callers[(base + i) as usize],
            SetInviterRequest {
                invited_by: code.clone(),
            },
        );
        async move {
            let profile = AuthServiceClient::new(channel)
                .set_inviter(request)
                .await?
                .into_inner();
            expect(profile.invited_by == code, "invited_by not recorded")
        }
    })
}

/// ListUsers pages of `page_size` starting after a user id spread over 0..users-page_size.
pub fn list_users(admin: Bearer, users: u64, page_size: u32) -> Op {
    op(move |channel, i| {
        let after = mix(i) % users.saturating_sub(u64::from(page_size)).max(1);
        let page_token = match after {
            0 => String::new(),
            id => URL_SAFE_NO_PAD.encode(format!("after:{id}")),
        };
        let request = authed(
            &admin,
            ListUsersRequest {
                page_size,
                page_token,
            },
        );
        async move {
            let page = AuthServiceClient::new(channel)
                .list_users(request)
                .await?
                .into_inner();
            expect(page.users.len() == page_size as usize, "short page")
        }
    })
}

fn expect(ok: bool, what: &'static str) -> Result<(), Status> {
    if ok {
        Ok(())
    } else {
        Err(Status::internal(format!("loadgen check failed: {what}")))
    }
}
