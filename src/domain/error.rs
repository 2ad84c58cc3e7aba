//! The one error type of the domain. `grpc::status` maps every variant to a gRPC status.
use std::time::Duration;

use super::InviteCode;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A request field is missing or malformed; `field` is its name in the proto.
    #[error("{field} {reason}")]
    InvalidField { field: &'static str, reason: String },

    /// The code is wrong, expired, already used or was never sent: all answer alike.
    #[error("the verification code is wrong or has expired")]
    WrongCode { attempts_left: Option<u32> },

    /// No usable session token came with the call.
    #[error("{0}")]
    Unauthenticated(&'static str),

    /// The caller is known but may not do this.
    #[error("{0}")]
    PermissionDenied(&'static str),

    /// No user has the code; `None` when the input could not be a code at all. Such input is
    /// never echoed: it may hold anything, NUL and invisible characters included.
    #[error("{}", match .0 {
        Some(code) => format!("no user has invite code {code}"),
        None => "no user has that invite code".to_string(),
    })]
    InviteCodeNotFound(Option<InviteCode>),

    #[error("invited_by is your own invite code; enter the code of the person who invited you")]
    OwnInviteCode,

    #[error("an inviter is already set (invite code {0}) and cannot be changed")]
    InviterAlreadySet(InviteCode),

    #[error(
        "invite code {0} belongs to someone you invited (directly or through others); \
         referral links cannot form a cycle"
    )]
    InviterCycle(InviteCode),

    /// A throttle refused the call; the client may retry after `retry_after`.
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },

    /// An SMS budget, the service-wide one or the one toward the number's country, is spent
    /// (`budget` names which, for tests and metrics): no SMS goes out to such numbers until
    /// its window frees in `retry_after`. A breaker rather than the caller's own limit, so it
    /// is answered like an outage of SMS delivery, with the wait.
    #[error("SMS delivery is unavailable; retry shortly")]
    SmsBudgetSpent {
        budget: &'static str,
        retry_after: Duration,
    },

    /// A dependency (database, cache, SMS provider) cannot be reached right now.
    #[error("{what} is unavailable; retry shortly")]
    Unavailable {
        what: &'static str,
        #[source]
        source: anyhow::Error,
    },

    /// Anything else; logged with its cause chain, answered as INTERNAL without details.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AuthError {
    pub fn invalid(field: &'static str, reason: impl ToString) -> Self {
        Self::InvalidField {
            field,
            reason: reason.to_string(),
        }
    }
}
