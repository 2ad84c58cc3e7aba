//! The one mapping from [`AuthError`] to `tonic::Status`, per the gRPC status-code guide.
//!
//! Every status carries a `google.rpc.ErrorInfo` whose reason is stable and machine-readable;
//! field problems add a `google.rpc.BadRequest`, throttling adds a `google.rpc.RetryInfo`.
use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::AuthError;

/// `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "phoneauth.v1";

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        let mut details = ErrorDetails::new();
        let (code, reason) = match &error {
            AuthError::InvalidField { field, reason } => {
                details.add_bad_request_violation(*field, reason.clone());
                (Code::InvalidArgument, "INVALID_FIELD")
            }
            AuthError::WrongCode { attempts_left } => {
                details.add_bad_request_violation("verification_code", message.clone());
                let left = attempts_left.unwrap_or(0).to_string();
                details.set_error_info(
                    "WRONG_CODE",
                    ERROR_DOMAIN,
                    HashMap::from([("attempts_left".to_string(), left)]),
                );
                return Status::with_error_details(
                    Code::InvalidArgument,
                    wrong_code_message(*attempts_left),
                    details,
                );
            }
            AuthError::Unauthenticated(_) => (Code::Unauthenticated, "UNAUTHENTICATED"),
            AuthError::PermissionDenied(_) => (Code::PermissionDenied, "PERMISSION_DENIED"),
            AuthError::InviteCodeNotFound(_) => (Code::NotFound, "INVITE_CODE_NOT_FOUND"),
            AuthError::OwnInviteCode => {
                details.add_bad_request_violation("invited_by", message.clone());
                (Code::InvalidArgument, "OWN_INVITE_CODE")
            }
            AuthError::InviterAlreadySet(_) => (Code::AlreadyExists, "INVITER_ALREADY_SET"),
            AuthError::InviterCycle(_) => {
                details.add_precondition_failure_violation(
                    "REFERRAL_CYCLE",
                    "invited_by",
                    message.clone(),
                );
                (Code::FailedPrecondition, "REFERRAL_CYCLE")
            }
            AuthError::Throttled { retry_after, .. } => {
                details.set_retry_info(Some(*retry_after));
                (Code::ResourceExhausted, "THROTTLED")
            }
            AuthError::SmsBudgetSpent { retry_after, .. } => {
                // The budget's alarm has been logged once per window; no line per refusal.
                details.set_retry_info(Some(*retry_after));
                (Code::Unavailable, "UNAVAILABLE")
            }
            AuthError::Unavailable { what, source } => {
                tracing::warn!(error = ?source, "{what} is unavailable");
                (Code::Unavailable, "UNAVAILABLE")
            }
            AuthError::Internal(source) => {
                // The cause chain goes to the log only; the client learns nothing internal.
                tracing::error!(error = ?source, "internal error");
                (Code::Internal, "INTERNAL")
            }
        };
        details.set_error_info(reason, ERROR_DOMAIN, HashMap::new());
        Status::with_error_details(code, message, details)
    }
}

fn wrong_code_message(attempts_left: Option<u32>) -> String {
    match attempts_left {
        Some(n) if n > 0 => {
            let attempts = if n == 1 { "attempt" } else { "attempts" };
            format!("the verification code is wrong or has expired ({n} {attempts} left)")
        }
        _ => "the verification code is wrong or has expired; request a new code".to_string(),
    }
}

/// The answer to a request whose bytes do not decode as `message` (its full proto name): our
/// own words, never the decoder's, with the message named in a `google.rpc.BadRequest`.
pub(super) fn undecodable_request(message: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(
        message,
        "not a valid protobuf encoding of this message (malformed bytes, or a string field that \
         is not UTF-8)",
    );
    details.set_error_info("MALFORMED_REQUEST", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(
        Code::InvalidArgument,
        format!("the request is not a valid {message}"),
        details,
    )
}

/// The answer to a call that ran out of time: the smaller of the server's deadline and the
/// client's `grpc-timeout`, which is `deadline`.
pub fn deadline_exceeded(deadline: std::time::Duration) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info("DEADLINE_EXCEEDED", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(
        Code::DeadlineExceeded,
        format!(
            "the call did not finish within its deadline of {} ms",
            deadline.as_millis()
        ),
        details,
    )
}

/// The answer to a request message larger than `limit` bytes (MAX_REQUEST_BYTES).
pub fn request_too_large(limit: usize) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "REQUEST_TOO_LARGE",
        ERROR_DOMAIN,
        HashMap::from([("limit_bytes".to_string(), limit.to_string())]),
    );
    Status::with_error_details(
        Code::ResourceExhausted,
        format!("the request message is larger than {limit} bytes"),
        details,
    )
}

/// [`malformed_call`]'s words for a message flagged compressed in a call without `grpc-encoding`.
pub(super) const COMPRESSED_WITHOUT_ENCODING: &str =
    "the request message is flagged compressed, but the call names no grpc-encoding";
/// … for a compressed-flag byte other than 0 and 1.
pub(super) const INVALID_COMPRESSED_FLAG: &str =
    "the request message's compressed-flag byte is neither 0 nor 1";
/// … for a call whose body holds no message.
pub(super) const NO_MESSAGE: &str = "the call carries no request message";
/// … for a body that ends inside a message or its length prefix.
pub(super) const CUT_SHORT: &str = "the request message is cut short: the body ends inside it";
/// … for a message that is not protobuf, on a service that does not use our codec.
pub(super) const NOT_PROTOBUF: &str = "the request message is not valid protobuf";
/// … for a second message on a unary call.
pub(super) const MORE_THAN_ONE_MESSAGE: &str =
    "the call carries more than one request message; every method takes exactly one";

/// The answer to a call whose gRPC framing is broken (`problem` says how): the client's
/// mistake, which tonic would answer INTERNAL.
pub(super) fn malformed_call(problem: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info("MALFORMED_REQUEST", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(Code::InvalidArgument, problem, details)
}

/// The answer to a request compressed with an encoding we do not accept: UNIMPLEMENTED, as the
/// gRPC compression spec says, without echoing the client's `grpc-encoding`.
pub(super) fn unsupported_encoding() -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info("UNSUPPORTED_ENCODING", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(
        Code::Unimplemented,
        "the request is compressed with a grpc-encoding this server does not accept; see \
         grpc-accept-encoding",
        details,
    )
}
