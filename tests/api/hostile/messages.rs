//! The material of hostile calls: each RPC with a valid message to start from, the ways to
//! spoil a message, and the odd strings and metadata values that are still well-formed.
use phone_auth::proto;
use prost::encoding::encode_varint;
use rand::{Rng, rngs::StdRng, seq::IndexedRandom};

use super::generate::{encode, random_bytes};

/// A method the generator calls, with what it needs to know about its request message.
#[derive(Debug)]
pub struct Rpc {
    pub path: &'static str,
    /// Numbers of the request's string fields (field 1 stands in when there are none).
    pub strings: &'static [u32],
    pub template: fn() -> Vec<u8>,
    pub authenticated: bool,
    /// Logout and LogoutAll: they get a session that may end.
    pub ends_sessions: bool,
}

impl Rpc {
    /// An AuthService method: the framing fixes of `grpc::transport_errors` apply to it.
    pub fn is_auth_service(&self) -> bool {
        AUTH_SERVICE.iter().any(|rpc| rpc.path == self.path)
    }
}

const fn rpc(path: &'static str, strings: &'static [u32], template: fn() -> Vec<u8>) -> Rpc {
    Rpc {
        path,
        strings,
        template,
        authenticated: false,
        ends_sessions: false,
    }
}

const fn authed(rpc: Rpc, ends_sessions: bool) -> Rpc {
    Rpc {
        authenticated: true,
        ends_sessions,
        ..rpc
    }
}

fn nothing() -> Vec<u8> {
    Vec::new()
}

pub static AUTH_SERVICE: &[Rpc] = &[
    rpc("/phoneauth.v1.AuthService/RequestCode", &[1], || {
        encode(proto::RequestCodeRequest {
            phone_number: "+79123456789".into(),
        })
    }),
    rpc("/phoneauth.v1.AuthService/VerifyCode", &[1, 2], || {
        encode(proto::VerifyCodeRequest {
            phone_number: "+79123456789".into(),
            verification_code: "1234".into(),
        })
    }),
    authed(
        rpc("/phoneauth.v1.AuthService/GetProfile", &[2], || {
            encode(proto::GetProfileRequest {
                referrals_page_size: 10,
                referrals_page_token: String::new(),
            })
        }),
        false,
    ),
    authed(
        rpc("/phoneauth.v1.AuthService/SetInviter", &[1], || {
            encode(proto::SetInviterRequest {
                invited_by: "ABCDEF".into(),
            })
        }),
        false,
    ),
    authed(rpc("/phoneauth.v1.AuthService/Logout", &[], nothing), true),
    authed(
        rpc("/phoneauth.v1.AuthService/LogoutAll", &[], nothing),
        true,
    ),
    authed(
        rpc("/phoneauth.v1.AuthService/ListUsers", &[2], || {
            encode(proto::ListUsersRequest {
                page_size: 50,
                page_token: String::new(),
            })
        }),
        false,
    ),
];

/// Health, reflection and paths that do not exist: not AuthService, and not rewritten by it.
pub static OTHERS: &[Rpc] = &[
    rpc("/grpc.health.v1.Health/Check", &[1], || {
        encode(tonic_health::pb::HealthCheckRequest {
            service: "phoneauth.v1.AuthService".into(),
        })
    }),
    rpc(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        &[1],
        || {
            [0x3a, 0x00].to_vec() // list_services = ""
        },
    ),
    rpc(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        &[1],
        || [0x3a, 0x00].to_vec(),
    ),
    rpc("/phoneauth.v1.AuthService/NoSuchMethod", &[1], nothing),
    rpc("/no.such.Service/Call", &[1], nothing),
];

/// Field `field` as length-delimited (wire type 2), holding `bytes`.
pub fn string_field(field: u32, bytes: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(bytes.len() + 8);
    encode_varint(u64::from(field << 3 | 2), &mut encoded);
    encode_varint(bytes.len() as u64, &mut encoded);
    encoded.extend(bytes);
    encoded
}

/// `message` with one of `rpc`'s string fields set to `bytes`: appended, where the last value
/// of a field wins, or alone.
pub fn with_string(rng: &mut StdRng, message: Vec<u8>, rpc: &Rpc, bytes: &[u8]) -> Vec<u8> {
    let field = rpc.strings.choose(rng).copied().unwrap_or(1);
    let mut spoiled = if rng.random_bool(0.5) {
        message
    } else {
        Vec::new()
    };
    spoiled.extend(string_field(field, bytes));
    spoiled
}

/// `message` spoiled one to three times: bit flips, cuts, stray bytes, wrong wire types, huge
/// length prefixes, unknown fields, groups nested too deep.
pub fn mutate(rng: &mut StdRng, mut message: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.random_range(1..=3) {
        let at = rng.random_range(0..=message.len());
        match rng.random_range(0..9) {
            0 if !message.is_empty() => {
                let at = at.min(message.len() - 1);
                message[at] ^= 1 << rng.random_range(0..8);
            }
            1 => message.truncate(at),
            2 => message.insert(at, rng.random()),
            3 if !message.is_empty() => message[0] = message[0] & !7 | rng.random_range(0..8),
            4 => {
                // A length-delimited field that announces far more than follows.
                let mut field = vec![rng.random_range(1..16) << 3 | 2];
                encode_varint(rng.random_range(1 << 20..=u64::MAX), &mut field);
                message.extend(field);
                message.extend(random_bytes(rng, 0..16));
            }
            5 => message.extend(unknown_field(rng)),
            6 => {
                // Groups nested past the decoder's recursion limit.
                let depth = rng.random_range(50..2000);
                let group = rng.random_range(1u8..16) << 3;
                message.extend(std::iter::repeat_n(group | 3, depth));
                message.extend(std::iter::repeat_n(group | 4, depth));
            }
            7 => message = message.repeat(rng.random_range(2..5)),
            _ => {
                // A 10-byte varint (a negative int64) in field 1.
                message.extend([
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                ]);
            }
        }
    }
    message
}

/// A well-formed field that no request message has.
fn unknown_field(rng: &mut StdRng) -> Vec<u8> {
    let number = rng.random_range(3..(1u64 << 29));
    let mut field = Vec::new();
    match rng.random_range(0..4) {
        0 => {
            encode_varint(number << 3, &mut field);
            encode_varint(rng.random(), &mut field);
        }
        1 => {
            encode_varint(number << 3 | 1, &mut field);
            field.extend(rng.random::<u64>().to_le_bytes());
        }
        2 => {
            encode_varint(number << 3 | 5, &mut field);
            field.extend(rng.random::<u32>().to_le_bytes());
        }
        _ => {
            let payload = random_bytes(rng, 0..32);
            encode_varint(number << 3 | 2, &mut field);
            encode_varint(payload.len() as u64, &mut field);
            field.extend(payload);
        }
    }
    field
}
