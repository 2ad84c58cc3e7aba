//! Broken gRPC framing, which tonic refuses inside its framing decoder with INTERNAL (or, for an
//! unknown `grpc-encoding`, with its own UNIMPLEMENTED): every AuthService method answers it in
//! our words, with the usual details (src/grpc/transport_errors.rs).
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::{
    generate::{Authorization, Call, Kind, frame},
    messages::AUTH_SERVICE,
    send::{Tokens, answer},
};
use crate::helpers::{ADMIN_PHONE, TestApp};

/// How a test frames a method's valid message into a request body.
type Framing = fn(&[u8]) -> Vec<u8>;

/// Sends, to every AuthService method, its valid message framed by `body`, with `metadata`,
/// and returns each method's status.
async fn every_method_answers(
    kind: Kind,
    metadata: &[(&str, &str)],
    body: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<(&'static str, Status)> {
    let app = TestApp::spawn().await;
    let token = app.login(ADMIN_PHONE).await.token;
    let tokens = Tokens {
        caller: token.clone(),
        sacrificed: token,
    };
    let channel = app.channel().await;
    let mut statuses = Vec::new();
    for rpc in AUTH_SERVICE {
        let call = Call {
            kind,
            rpc,
            authorization: vec![Authorization::Caller],
            metadata: (metadata.iter())
                .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                .collect(),
            body: body(&(rpc.template)()),
        };
        let status = answer(&channel, &call, &tokens).await;
        statuses.push((
            rpc.path,
            status.unwrap_or_else(|o| panic!("{}: {o:?}", rpc.path)),
        ));
    }
    statuses
}

/// Each status is `code` with `message`, in our domain with `reason`, and quotes nothing of
/// tonic's.
#[track_caller]
fn assert_answered_in_our_words(
    statuses: &[(&str, Status)],
    code: Code,
    reason: &str,
    message: &str,
) {
    for (path, status) in statuses {
        assert_eq!(status.code(), code, "{path}: {status:?}");
        assert_eq!(status.message(), message, "{path}");
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, reason, "{path}");
        assert_eq!(info.domain, phone_auth::grpc::ERROR_DOMAIN, "{path}");
    }
}

#[tokio::test]
async fn a_message_flagged_compressed_without_a_grpc_encoding_is_invalid_argument() {
    let statuses = every_method_answers(Kind::CompressedWithoutEncoding, &[], |m| frame(1, m));
    assert_answered_in_our_words(
        &statuses.await,
        Code::InvalidArgument,
        "MALFORMED_REQUEST",
        "the request message is flagged compressed, but the call names no grpc-encoding",
    );
}

#[tokio::test]
async fn a_compressed_flag_that_is_neither_0_nor_1_is_invalid_argument() {
    for flag in [2, 0x80, 0xff] {
        let statuses = every_method_answers(Kind::InvalidFlag, &[], |m| frame(flag, m));
        assert_answered_in_our_words(
            &statuses.await,
            Code::InvalidArgument,
            "MALFORMED_REQUEST",
            "the request message's compressed-flag byte is neither 0 nor 1",
        );
    }
}

#[tokio::test]
async fn a_call_without_a_request_message_is_invalid_argument() {
    let statuses = every_method_answers(Kind::EmptyBody, &[], |_| Vec::new());
    assert_answered_in_our_words(
        &statuses.await,
        Code::InvalidArgument,
        "MALFORMED_REQUEST",
        "the call carries no request message",
    );
}

#[tokio::test]
async fn a_message_cut_short_is_invalid_argument() {
    let cuts: [Framing; 3] = [
        // The length prefix announces one byte more than follows.
        |m| {
            let mut framed = frame(0, m);
            framed[1..5].copy_from_slice(&(m.len() as u32 + 1).to_be_bytes());
            framed
        },
        // Half a length prefix, and no message.
        |_| vec![0, 0],
        // A length prefix that announces 3 bytes, and nothing after it: tonic took this for
        // a call without a message.
        |_| vec![0, 0, 0, 0, 3],
    ];
    for cut in cuts {
        let statuses = every_method_answers(Kind::TruncatedFrame, &[], cut);
        assert_answered_in_our_words(
            &statuses.await,
            Code::InvalidArgument,
            "MALFORMED_REQUEST",
            "the request message is cut short: the body ends inside it",
        );
    }
}

#[tokio::test]
async fn a_second_message_on_a_unary_call_is_invalid_argument() {
    let seconds: [Framing; 2] = [
        // tonic decoded the second message, dropped it and served the first.
        |m| [frame(0, m), frame(0, m)].concat(),
        // tonic took a length prefix with nothing after it for a clean end, and served the call.
        |m| [frame(0, m), vec![0, 0, 0, 0, 9]].concat(),
    ];
    for second in seconds {
        let statuses = every_method_answers(Kind::TwoMessages, &[], second);
        assert_answered_in_our_words(
            &statuses.await,
            Code::InvalidArgument,
            "MALFORMED_REQUEST",
            "the call carries more than one request message; every method takes exactly one",
        );
    }
}

#[tokio::test]
async fn an_unsupported_grpc_encoding_is_unimplemented_and_says_what_is_accepted() {
    let statuses = every_method_answers(
        Kind::UnsupportedEncoding,
        &[("grpc-encoding", "gzip\u{7e}\u{7e}")],
        |m| frame(1, m),
    )
    .await;
    assert_answered_in_our_words(
        &statuses,
        Code::Unimplemented,
        "UNSUPPORTED_ENCODING",
        "the request is compressed with a grpc-encoding this server does not accept; \
         see grpc-accept-encoding",
    );
    for (path, status) in &statuses {
        let accepted = status.metadata().get("grpc-accept-encoding");
        assert_eq!(
            accepted.map(|v| v.to_str().unwrap()),
            Some("identity"),
            "{path}"
        );
    }
}

/// Health uses tonic-prost's codec, which answered INTERNAL and quoted the decoder.
#[tokio::test]
async fn bytes_that_are_not_protobuf_to_health_are_invalid_argument() {
    let app = TestApp::spawn().await;
    let channel = app.channel().await;
    let tokens = Tokens {
        caller: String::new(),
        sacrificed: String::new(),
    };
    let check = &super::messages::OTHERS[0];
    assert_eq!(check.path, "/grpc.health.v1.Health/Check");
    for junk in [&[0x0f][..], &[0x0a, 0x02, 0xc3, 0x28], &[0xff; 11]] {
        let call = Call {
            kind: Kind::RandomBytes,
            rpc: check,
            authorization: Vec::new(),
            metadata: Vec::new(),
            body: frame(0, junk),
        };
        let status = answer(&channel, &call, &tokens).await.unwrap();
        let statuses = [(check.path, status)];
        assert_answered_in_our_words(
            &statuses,
            Code::InvalidArgument,
            "MALFORMED_REQUEST",
            "the request message is not valid protobuf",
        );
    }
}
