//! The use cases of the service, free of any transport: what RequestCode, VerifyCode and the
//! rest do, in domain types. The gRPC layer only converts in and out.
mod destination;
mod introspect;
mod limits;
mod profile;
mod request_code;
mod verify_code;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use phonenumber::country;

pub use introspect::ActiveSession;
use limits::Limiter;
pub use profile::ProfilePage;
pub use request_code::CodeSent;
pub use verify_code::LoggedIn;

use crate::{
    config::{Config, LimitsConfig},
    domain::{AuthError, Caller, Clock, SecretKey, SessionToken, VerificationCode},
    sms::SmsSender,
    store::{CachedUsers, CodeStore, RateLimits, SessionStore},
};

/// Page size when the request leaves it 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page served; larger requests are coerced down (AIP-158).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Settings the use cases need, copied out of [`Config`].
#[derive(Clone, Debug)]
pub struct Policy {
    pub default_region: country::Id,
    pub code_length: usize,
    pub code_ttl: Duration,
    pub session_ttl: Duration,
    pub max_code_attempts: u32,
    pub sms_template: String,
    pub admin_phones: HashSet<String>,
    pub test_phone_codes: HashMap<String, VerificationCode>,
    pub allowed_regions: HashSet<country::Id>,
    /// Calling codes of international networks served (e.g. 882); others are refused.
    pub allowed_international_networks: HashSet<u16>,
    pub limits: LimitsConfig,
    /// Where every deadline and window is measured.
    pub clock: Clock,
}

impl Policy {
    pub fn from_config(config: &Config) -> Self {
        Self {
            default_region: config.default_region,
            code_length: config.code_length,
            code_ttl: config.code_ttl,
            session_ttl: config.session_ttl,
            max_code_attempts: crate::config::MAX_CODE_ATTEMPTS,
            sms_template: config.sms.template.clone(),
            admin_phones: config.admin_phones.clone(),
            test_phone_codes: config.test_phone_codes.clone(),
            allowed_regions: config.allowed_regions.clone(),
            allowed_international_networks: config.allowed_international_networks.clone(),
            limits: config.limits.clone(),
            clock: config.clock.clone(),
        }
    }
}

/// Everything the use cases run on. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    pub(crate) policy: Arc<Policy>,
    pub(crate) key: SecretKey,
    pub(crate) users: CachedUsers,
    pub(crate) codes: Arc<dyn CodeStore>,
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) sms: Arc<dyn SmsSender>,
    /// Every rate limit and the SMS-budget breaker.
    limits: Arc<Limiter>,
    /// The policy's clock, kept at hand: every use case reads it.
    pub(crate) clock: Clock,
}

impl Auth {
    pub fn new(
        policy: Policy,
        key: SecretKey,
        users: CachedUsers,
        codes: Arc<dyn CodeStore>,
        sessions: Arc<dyn SessionStore>,
        sms: Arc<dyn SmsSender>,
        limits: Arc<dyn RateLimits>,
    ) -> Self {
        let test_phones = policy.test_phone_codes.keys().cloned().collect();
        let limits = Limiter::new(
            limits,
            policy.limits.clone(),
            test_phones,
            policy.clock.clone(),
        );
        Self {
            clock: policy.clock.clone(),
            policy: Arc::new(policy),
            key,
            users,
            codes,
            sessions,
            sms,
            limits: Arc::new(limits),
        }
    }

    /// Resolves a bearer token to the caller it belongs to.
    pub async fn authenticate(&self, token: &SessionToken) -> Result<Caller, AuthError> {
        let digest = self.key.session_digest(token);
        let session = self
            .sessions
            .get(&digest)
            .await?
            .ok_or(AuthError::Unauthenticated(
                "the session token is unknown, expired or revoked; log in again",
            ))?;
        Ok(Caller {
            user_id: session.user_id,
            phone_number: session.phone_number.into(),
            session: digest,
        })
    }

    /// Removes expired entries from the in-memory stores, then publishes their sizes as gauges
    /// (Redis expires and reports its own). Without the removal the gauges stay where the last
    /// write left them: 15,635 pending codes were reported for 90 s after all had expired.
    /// The removal walks moka's queues and the counters' shards, so it runs on a blocking
    /// thread.
    pub async fn record_store_sizes(&self) {
        let (codes, sessions) = (self.codes.clone(), self.sessions.clone());
        let limits = self.limits.store();
        let counted = tokio::task::spawn_blocking(move || {
            codes.remove_expired();
            sessions.remove_expired();
            limits.remove_expired();
            (codes.entry_count(), sessions.entry_count())
        })
        .await;
        let Ok((codes, sessions)) = counted else {
            return;
        };
        if let Some(sessions) = sessions {
            metrics::gauge!(crate::telemetry::SESSIONS_LIVE).set(sessions as f64);
        }
        if let Some(codes) = codes {
            metrics::gauge!(crate::telemetry::CODES_PENDING).set(codes as f64);
        }
    }

    /// Whether the caller may use administrator RPCs.
    pub fn is_admin(&self, caller: &Caller) -> bool {
        self.policy.admin_phones.contains(&caller.phone_number)
    }

    pub fn code_length(&self) -> usize {
        self.policy.code_length
    }

    pub fn default_region(&self) -> country::Id {
        self.policy.default_region
    }
}

/// Applies the default and the ceiling to a requested page size.
pub fn page_size(requested: u32) -> u32 {
    match requested {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}
