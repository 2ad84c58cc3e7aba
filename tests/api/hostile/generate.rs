//! The seeded generator of hostile calls. Call `index` of `seed` is always the same call, made
//! from its own RNG, so a failure reproduces with HOSTILE_SEED (and HOSTILE_CASE for that call
//! alone) however the calls were scheduled.
use prost::Message;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

use super::{
    messages::{self, Rpc},
    odd_values,
};

/// MAX_REQUEST_BYTES of the server under test.
pub const LIMIT: usize = 16 * 1024;

/// What a call attacks. Each kind has its own expectations (see `hostile::expected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    RandomBytes,
    Mutated,
    InvalidUtf8,
    OddString,
    HugeString,
    Oversize,
    CompressedWithoutEncoding,
    InvalidFlag,
    EmptyBody,
    TwoMessages,
    TruncatedFrame,
    UnsupportedEncoding,
    BadAuthorization,
    DuplicateAuthorization,
    OddMetadata,
    HugeMetadata,
    BadTimeout,
}

/// How often each kind is drawn (out of the sum).
const WEIGHTS: &[(Kind, u32)] = &[
    (Kind::RandomBytes, 14),
    (Kind::Mutated, 20),
    (Kind::InvalidUtf8, 8),
    (Kind::OddString, 12),
    (Kind::HugeString, 2),
    (Kind::Oversize, 2),
    (Kind::CompressedWithoutEncoding, 3),
    (Kind::InvalidFlag, 3),
    (Kind::EmptyBody, 3),
    (Kind::TwoMessages, 3),
    (Kind::TruncatedFrame, 3),
    (Kind::UnsupportedEncoding, 3),
    (Kind::BadAuthorization, 8),
    (Kind::DuplicateAuthorization, 3),
    (Kind::OddMetadata, 6),
    (Kind::HugeMetadata, 1),
    (Kind::BadTimeout, 6),
];

/// An `authorization` value: a live session's, or bytes of our choosing.
#[derive(Clone, Debug)]
pub enum Authorization {
    /// `Bearer <token>` of the logged-in caller that the test keeps.
    Caller,
    /// `Bearer <token>` of a second user, whose session Logout and LogoutAll may end.
    Sacrificed,
    Raw(Vec<u8>),
}

/// One generated call: where it goes, its metadata and its exact HTTP/2 body.
#[derive(Clone, Debug)]
pub struct Call {
    pub kind: Kind,
    pub rpc: &'static Rpc,
    pub authorization: Vec<Authorization>,
    pub metadata: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// The call numbered `index` in the run of `seed`.
pub fn call(seed: u64, index: u64) -> Call {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index);
    let total: u32 = WEIGHTS.iter().map(|(_, weight)| weight).sum();
    let mut pick = rng.random_range(0..total);
    let kind = WEIGHTS
        .iter()
        .find(|(_, weight)| pick.checked_sub(*weight).map(|rest| pick = rest).is_none())
        .map(|(kind, _)| *kind)
        .expect("the weights cover the draw");
    // One call in ten goes to health, reflection or a path that does not exist.
    let rpc = match rng.random_bool(0.9) {
        true => messages::AUTH_SERVICE.choose(&mut rng),
        false => messages::OTHERS.choose(&mut rng),
    }
    .expect("non-empty");
    let mut call = Call {
        kind,
        rpc,
        authorization: Vec::new(),
        metadata: Vec::new(),
        body: Vec::new(),
    };
    if rpc.authenticated && rng.random_bool(0.8) {
        let user = match rpc.ends_sessions {
            true => Authorization::Sacrificed,
            false => Authorization::Caller,
        };
        call.authorization.push(user);
    }
    let valid = (rpc.template)();
    let message = match kind {
        Kind::RandomBytes => random_bytes(&mut rng, 0..300),
        Kind::Mutated => messages::mutate(&mut rng, valid),
        Kind::InvalidUtf8 => {
            let text = odd_values::invalid_utf8(&mut rng);
            messages::with_string(&mut rng, valid, rpc, &text)
        }
        Kind::OddString => {
            let text = odd_values::odd_string(&mut rng);
            messages::with_string(&mut rng, valid, rpc, text.as_bytes())
        }
        Kind::HugeString => {
            // The whole message (tag and a 2-byte length included) stays within the limit.
            let len = LIMIT - 3 - rng.random_range(0..64);
            let text = odd_values::huge_string(&mut rng, len);
            messages::with_string(&mut rng, Vec::new(), rpc, text.as_bytes())
        }
        _ => valid,
    };
    call.body = match kind {
        Kind::Oversize => oversize(&mut rng),
        Kind::CompressedWithoutEncoding => frame(1, &message),
        Kind::InvalidFlag => frame(rng.random_range(2..=255), &message),
        Kind::EmptyBody => Vec::new(),
        Kind::TwoMessages => [frame(0, &message), frame(0, &message)].concat(),
        Kind::TruncatedFrame => truncated(&mut rng, &message),
        _ => frame(0, &message),
    };
    let metadata = match kind {
        Kind::UnsupportedEncoding => {
            let encoding = [
                "gzip",
                "deflate",
                "zstd",
                "br",
                "snappy",
                "x-unheard-of",
                "GZIP",
            ];
            vec![("grpc-encoding".into(), pick_bytes(&mut rng, &encoding))]
        }
        Kind::BadAuthorization => {
            call.authorization = vec![Authorization::Raw(odd_values::bad_authorization(&mut rng))];
            Vec::new()
        }
        Kind::DuplicateAuthorization => {
            // Logout and LogoutAll never see the kept caller's token, whichever value wins.
            let (live, other) = match rpc.ends_sessions {
                true => (Authorization::Sacrificed, None),
                false => (Authorization::Caller, Some(Authorization::Sacrificed)),
            };
            let second = match other.filter(|_| rng.random_bool(0.5)) {
                Some(other) => other,
                None => Authorization::Raw(odd_values::bad_authorization(&mut rng)),
            };
            call.authorization = vec![live, second];
            call.authorization.rotate_left(rng.random_range(0..2));
            Vec::new()
        }
        Kind::OddMetadata => vec![odd_values::odd_header(&mut rng)],
        Kind::HugeMetadata => {
            let len = rng.random_range(8 * 1024..64 * 1024);
            vec![("x-huge".into(), vec![b'a' + rng.random_range(0..26); len])]
        }
        Kind::BadTimeout => {
            // Values tonic's client cannot parse, so it sends them without enforcing them
            // itself; the deadline tests send tiny valid ones (0n) by hand.
            let timeout = [
                "",
                "abc",
                "1",
                "-1S",
                "123456789S",
                "1H ",
                "1.5S",
                "+1S",
                "1s",
                "S",
                "n",
                "18446744073709551615n",
                "\u{661}S",
                "99999999999999999999H",
            ];
            vec![("grpc-timeout".into(), pick_bytes(&mut rng, &timeout))]
        }
        _ => Vec::new(),
    };
    call.metadata = metadata;
    call
}

/// The gRPC length-prefixed framing of one message, with `flag` as its compressed-flag byte.
pub fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut framed = vec![flag];
    framed.extend((message.len() as u32).to_be_bytes());
    framed.extend(message);
    framed
}

/// A message over the limit: sent whole, or only announced by its length prefix.
fn oversize(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.random_range(0..4) {
        0 => LIMIT + 1,
        1 => rng.random_range(LIMIT + 1..LIMIT * 2),
        2 => rng.random_range(LIMIT * 2..=u32::MAX as usize),
        _ => u32::MAX as usize,
    };
    match len <= LIMIT + 64 {
        true => {
            // A string field whose tag, length and text add up to exactly `len` bytes.
            let fill = |text: usize| messages::string_field(1, &vec![b'7'; text]);
            let text = (len - 4..len)
                .find(|text| fill(*text).len() == len)
                .unwrap();
            frame(0, &fill(text))
        }
        false => {
            let mut prefix = vec![0];
            prefix.extend((len as u32).to_be_bytes());
            prefix.extend(random_bytes(rng, 0..64));
            prefix
        }
    }
}

/// A frame cut short: the length prefix announces more than follows, or the prefix itself is
/// cut, after zero or one whole message.
fn truncated(rng: &mut StdRng, message: &[u8]) -> Vec<u8> {
    let mut body = match rng.random_bool(0.5) {
        true => frame(0, message),
        false => Vec::new(),
    };
    match rng.random_bool(0.5) {
        true => body.extend(&frame(0, message)[..rng.random_range(1..5)]),
        false => {
            let announced = message.len() + rng.random_range(1..64);
            let mut partial = frame(0, message);
            partial[1..5].copy_from_slice(&(announced as u32).to_be_bytes());
            body.extend(partial);
        }
    }
    body
}

pub fn random_bytes(rng: &mut StdRng, len: std::ops::Range<usize>) -> Vec<u8> {
    let mut bytes = vec![0; rng.random_range(len)];
    rng.fill(&mut bytes[..]);
    bytes
}

fn pick_bytes(rng: &mut StdRng, choices: &[&str]) -> Vec<u8> {
    choices.choose(rng).unwrap().as_bytes().to_vec()
}

/// A valid message of a proto type, encoded.
pub fn encode(message: impl Message) -> Vec<u8> {
    message.encode_to_vec()
}
