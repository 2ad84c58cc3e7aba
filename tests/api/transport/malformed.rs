//! Requests that are not protobuf, or carry text that is not UTF-8, are the client's mistake:
//! every RPC answers INVALID_ARGUMENT in our words, with the usual details, and counts them.
use http::uri::PathAndQuery;
use prost::bytes::{Buf, BufMut};
use tonic::{
    Code, Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::MetadataValue,
};
use tonic_types::StatusExt;

use crate::{
    helpers::{TestApp, bad_request_field},
    observability::{sample, scrape},
};

/// Every AuthService RPC, and the string fields of its request (by field number).
const RPCS: &[(&str, &[u32])] = &[
    ("RequestCode", &[1]),
    ("VerifyCode", &[1, 2]),
    ("GetProfile", &[2]),
    ("SetInviter", &[1]),
    ("Logout", &[]),
    ("LogoutAll", &[]),
    ("ListUsers", &[2]),
];

/// Bytes no protobuf message decodes from, whatever its fields.
const JUNK: &[&[u8]] = &[
    &[0x0f],                           // field 1 with wire type 7, which does not exist
    &[0x08],                           // field 1, a varint that never comes
    &[0xff; 11],                       // a varint longer than 10 bytes
    &[0x0a, 0x05, 0x01],               // 5 bytes announced, 1 sent
    b"\xde\xad\xbe\xef junk \x00\x01", // noise
];

/// Sends bytes as they are, as one gRPC message, and ignores the answer's body.
#[derive(Clone, Copy, Default)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;
    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }
    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining()).to_vec()))
    }
}

/// Sends `bytes` to `rpc` with a valid session token, and returns the status it got.
async fn send(app: &TestApp, token: &str, rpc: &str, bytes: Vec<u8>) -> Status {
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    grpc.ready().await.unwrap();
    let mut request = Request::new(bytes);
    let bearer: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    let path: PathAndQuery = format!("/phoneauth.v1.AuthService/{rpc}").parse().unwrap();
    grpc.unary(request, path, RawBytes)
        .await
        .expect_err("the request cannot be decoded")
}

/// The answer names the request message and tells nothing of the decoder.
#[track_caller]
fn assert_refused_in_our_words(status: &Status, rpc: &str) {
    let context = format!("{rpc}: {status:?}");
    assert_eq!(status.code(), Code::InvalidArgument, "{context}");
    let message = status.message().to_lowercase();
    for leak in ["failed to decode", "utf-8", "utf8", "wire type", "buffer"] {
        assert!(!message.contains(leak), "{context}");
    }
    let expected = format!("phoneauth.v1.{rpc}Request");
    assert!(status.message().contains(&expected), "{context}");
    assert_eq!(bad_request_field(status).as_deref(), Some(&*expected));
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "MALFORMED_REQUEST", "{context}");
    assert_eq!(info.domain, phone_auth::grpc::ERROR_DOMAIN, "{context}");
}

#[tokio::test]
async fn junk_bytes_to_every_rpc_are_invalid_argument_in_our_words_and_counted() {
    let app = TestApp::spawn_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics_addr.expect("metrics are served");
    let token = app.login("+79123456789").await.token;
    let before = scrape(metrics).await;

    for (rpc, _) in RPCS {
        for junk in JUNK {
            let status = send(&app, &token, rpc, junk.to_vec()).await;
            assert_refused_in_our_words(&status, rpc);
        }
    }

    let after = scrape(metrics).await;
    for (rpc, _) in RPCS {
        let labels = [&*format!(r#"method="{rpc}""#), r#"code="INVALID_ARGUMENT""#];
        let name = "phoneauth_rpc_requests_total";
        let counted = sample(&after, name, &labels) - sample(&before, name, &labels);
        assert!(counted >= JUNK.len() as f64, "{rpc}: {counted}");
    }
}

#[tokio::test]
async fn text_that_is_not_utf8_in_any_string_field_is_invalid_argument_in_our_words() {
    let app = TestApp::spawn().await;
    let token = app.login("+79123456789").await.token;
    for (rpc, fields) in RPCS {
        for field in *fields {
            for text in [&b"\xc3\x28"[..], b"+7912\xff\xfe", b"\xed\xa0\x80"] {
                // The field as length-delimited (wire type 2), holding `text`.
                let mut bytes = vec![(field << 3 | 2) as u8, text.len() as u8];
                bytes.extend(text);
                let status = send(&app, &token, rpc, bytes).await;
                assert_refused_in_our_words(&status, rpc);
            }
        }
    }
}
