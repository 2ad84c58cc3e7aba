//! The HTTP status each gRPC code answers with over REST: the grpc-gateway table, with
//! FAILED_PRECONDITION as 412 rather than 400 so that a client can tell a referral rule from
//! bad input.
//!
//! One table shared by the server (`answer.rs`) and by build.rs (the error responses of each
//! call in the OpenAPI document), so the two cannot disagree. It depends on nothing for that
//! reason, and so speaks in numbers: the gRPC code is the index.

/// Every gRPC code by number: its canonical name and its HTTP status.
pub const GRPC_CODES: [(&str, u16); 17] = [
    ("OK", 200),
    ("CANCELLED", 499),
    ("UNKNOWN", 500),
    ("INVALID_ARGUMENT", 400),
    ("DEADLINE_EXCEEDED", 504),
    ("NOT_FOUND", 404),
    ("ALREADY_EXISTS", 409),
    ("PERMISSION_DENIED", 403),
    ("RESOURCE_EXHAUSTED", 429),
    ("FAILED_PRECONDITION", 412),
    ("ABORTED", 409),
    ("OUT_OF_RANGE", 400),
    ("UNIMPLEMENTED", 501),
    ("INTERNAL", 500),
    ("UNAVAILABLE", 503),
    ("DATA_LOSS", 500),
    ("UNAUTHENTICATED", 401),
];

/// The HTTP status of gRPC code number `code`; 500 for a number gRPC does not define.
pub fn http_status_of(code: i32) -> u16 {
    usize::try_from(code)
        .ok()
        .and_then(|index| GRPC_CODES.get(index))
        .map_or(500, |(_, http)| *http)
}
