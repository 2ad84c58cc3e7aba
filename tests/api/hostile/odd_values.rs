//! Values that a parser may not expect: odd and huge strings, bytes that are not UTF-8, and the
//! `authorization` values and headers a well-behaved client never sends.
use rand::{Rng, rngs::StdRng, seq::IndexedRandom};

use super::generate::random_bytes;

/// Bytes that are not UTF-8: a broken sequence somewhere in otherwise plausible text.
pub fn invalid_utf8(rng: &mut StdRng) -> Vec<u8> {
    const BROKEN: &[&[u8]] = &[
        b"\xc3\x28",         // a lead byte without its continuation
        b"\x80",             // a continuation without a lead
        b"\xed\xa0\x80",     // WTF-8: a UTF-16 surrogate
        b"\xed\xbf\xbf",     // the last low surrogate
        b"\xc0\x80",         // an overlong NUL
        b"\xf0\x9f\x98",     // an emoji cut short
        b"\xf4\x90\x80\x80", // past U+10FFFF
        b"\xfe\xff",         // never valid
    ];
    let mut text = b"+7912".to_vec();
    text.extend(*BROKEN.choose(rng).unwrap());
    text.extend(random_bytes(rng, 0..8).iter().map(|b| b'0' + b % 10));
    if rng.random_bool(0.3) {
        text = random_bytes(rng, 1..40);
        text.push(0xff);
    }
    text
}

/// Valid UTF-8 that a parser of phone numbers, codes and tokens may not expect.
pub fn odd_string(rng: &mut StdRng) -> String {
    let odd = [
        "",
        "+",
        "++",
        " ",
        "\0",
        "+7912\x00345678",
        "\u{200b}+79123456789",
        "+7912\u{200d}3456789",
        "\u{feff}+79123456789",
        "\u{202e}98765432197+",
        "+79123456789\u{202c}",
        "📱",
        "+7📞912",
        "＋７９１２３４５６７８９",
        "+٧٩١٢٣٤٥٦٧٨٩",
        "+7 (912) 345-67-89",
        "+7\t912\n3456789",
        "1234\u{0301}",
        "' OR 1=1 --",
        "%00",
        "../../etc/passwd",
        "\u{10ffff}",
        "\u{fffd}",
        "+999999999999999999999999",
        "+0",
        "-1",
        "1e9",
        "ABCDEF\0",
        "abcdef",
        "ΑΒΓΔΕΖ",
    ];
    match rng.random_range(0..10) {
        0 => "9".repeat(10_000),
        1 => format!("+{}", "7".repeat(rng.random_range(16..2000))),
        2 => (0..rng.random_range(1..64))
            .map(|_| char::from_u32(rng.random_range(0..0x11_0000)).unwrap_or('\u{fffd}'))
            .collect(),
        _ => odd.choose(rng).unwrap().to_string(),
    }
}

/// `len` bytes of text: digits after a `+`, or a repeated multi-byte character.
pub fn huge_string(rng: &mut StdRng, len: usize) -> String {
    match rng.random_bool(0.5) {
        true => format!("+{}", "7".repeat(len - 1)),
        false => "€".repeat(len / 3) + &"x".repeat(len % 3),
    }
}

/// An `authorization` value that is not `Bearer <a live token>`.
pub fn bad_authorization(rng: &mut StdRng) -> Vec<u8> {
    let bad: &[&[u8]] = &[
        b"",
        b"Bearer",
        b"Bearer ",
        b"Bearer  ",
        b"bearer x",
        b"Basic dXNlcjpwYXNz",
        b"Bearer \xff\xfe",
        b"Bearer \xd0\xbf\xd1\x80\xd0\xb8",
        b"Bearer ...",
        b"Bearer a b",
        b"Bearer\ttoken",
        b"Token abc",
        b"Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ];
    match rng.random_range(0..4) {
        0 => [
            b"Bearer ".as_slice(),
            &"A".repeat(rng.random_range(100..8000)).into_bytes(),
        ]
        .concat(),
        1 => {
            // Any bytes an HTTP header value may hold: visible ASCII, tab and obs-text.
            let mut value = random_bytes(rng, 1..80);
            value
                .iter_mut()
                .for_each(|b| *b = if *b < 0x20 || *b == 0x7f { b'~' } else { *b });
            [b"Bearer ".as_slice(), &value].concat()
        }
        _ => bad.choose(rng).unwrap().to_vec(),
    }
}

/// A header a well-behaved client does not send: binary (`-bin`) values that are not base64,
/// non-ASCII text, odd content types, reserved gRPC names.
pub fn odd_header(rng: &mut StdRng) -> (String, Vec<u8>) {
    let headers: &[(&str, &[u8])] = &[
        ("x-trace-bin", b"not base64!"),
        ("x-trace-bin", b"\xff\xfe\xfd"),
        ("x-trace-bin", b"===="),
        ("grpc-status-details-bin", b"\x80\x81garbage"),
        ("x-note", b"caf\xc3\xa9 \xff"),
        ("content-type", b"application/grpc+json"),
        ("content-type", b"application/grpc+proto"),
        ("content-type", b"application/grpc; charset=\xff"),
        ("grpc-accept-encoding", b"gzip, \xff, identity"),
        ("grpc-encoding", b"identity"),
        ("grpc-message", b"%zz"),
        ("grpc-status", b"13"),
        ("user-agent", b"\xf0\x9f\x98\x80"),
        ("x-forwarded-for", b"not-an-ip, 999.1.1.1, ::ffff:zz"),
    ];
    let (name, value) = headers.choose(rng).unwrap();
    (name.to_string(), value.to_vec())
}
