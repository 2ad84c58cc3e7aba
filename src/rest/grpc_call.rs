//! A REST call made as a gRPC call, in process, through the same tower stack a native call
//! meets (metrics, deadline, size limit, authentication; see `grpc::stack`): the REST side only
//! translates, and every rule about who may do what is enforced once, for all protocols.
use std::convert::Infallible;

use http::{HeaderMap, HeaderValue, Method, Request, Response, header, request::Parts};
use http_body_util::{BodyExt, Full};
use prost::bytes::{Buf, BufMut, Bytes, BytesMut};
use tonic::{Code, Status};
use tower::{Service, ServiceExt};

/// Request headers that are about the HTTP exchange, not the call, and so are not passed on.
/// Everything else is (authorization, x-forwarded-for, x-service-token, user-agent...), so a
/// layer that reads a header reads it the same way for every protocol.
const NOT_PASSED_ON: [header::HeaderName; 8] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::TE,
    header::CONNECTION,
    header::HOST,
    header::COOKIE,
];

/// The gRPC request for `message` (already encoded) on `grpc_path`, carrying the REST request's
/// headers and extensions (the connection's peer address among them).
pub fn grpc_request(parts: Parts, grpc_path: &str, message: &[u8]) -> Request<tonic::body::Body> {
    let mut headers = HeaderMap::with_capacity(parts.headers.len() + 2);
    for (name, value) in &parts.headers {
        // grpc-* would let a REST client set the deadline or encoding of the inner call.
        if NOT_PASSED_ON.contains(name) || name.as_str().starts_with("grpc-") {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).expect("bounded by MAX_REQUEST_BYTES"));
    frame.put_slice(message);
    let mut request = Request::new(tonic::body::Body::new(Full::new(frame.freeze())));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = grpc_path.parse().expect("an RPC path is a valid URI");
    *request.version_mut() = http::Version::HTTP_2;
    *request.headers_mut() = headers;
    *request.extensions_mut() = parts.extensions;
    request
}

/// Calls `grpc` and reads its answer: the response message's bytes, or the status it failed
/// with (from the headers of a trailers-only answer, else from the trailers).
pub async fn call<S, B>(grpc: S, request: Request<tonic::body::Body>) -> Result<Bytes, Status>
where
    S: Service<Request<tonic::body::Body>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Ok(response) = grpc.oneshot(request).await;
    if let Some(status) = Status::from_header_map(response.headers())
        && status.code() != Code::Ok
    {
        return Err(status);
    }
    let collected = response
        .into_body()
        .collect()
        .await
        .map_err(|error| Status::from_error(error.into()))?;
    let trailers = collected.trailers().cloned();
    let mut body = collected.to_bytes();
    if let Some(status) = trailers.as_ref().and_then(Status::from_header_map)
        && status.code() != Code::Ok
    {
        return Err(status);
    }
    message_of(&mut body)
}

/// The single length-prefixed message of a unary answer.
fn message_of(body: &mut Bytes) -> Result<Bytes, Status> {
    if body.len() < 5 {
        return Err(Status::internal("the answer carries no message"));
    }
    let compressed = body.get_u8();
    let length = body.get_u32() as usize;
    if compressed != 0 || body.len() != length {
        return Err(Status::internal(
            "the answer is not one uncompressed message",
        ));
    }
    Ok(body.split_to(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_carries_identity_headers_but_not_the_exchanges_or_grpc_ones() {
        let rest = Request::builder()
            .method(Method::GET)
            .uri("/users/profile/?referrals_page_size=2")
            .header(header::AUTHORIZATION, "Bearer abc")
            .header("x-forwarded-for", "203.0.113.7")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, "phoneauth_session=abc")
            .header("grpc-timeout", "1n")
            .extension(7_u8)
            .body(())
            .unwrap();
        let (parts, ()) = rest.into_parts();
        let grpc = grpc_request(parts, "/phoneauth.v1.AuthService/GetProfile", b"\x08\x02");
        assert_eq!(grpc.uri().path(), "/phoneauth.v1.AuthService/GetProfile");
        assert_eq!(grpc.method(), Method::POST);
        let headers = grpc.headers();
        assert_eq!(headers[header::AUTHORIZATION], "Bearer abc");
        assert_eq!(headers["x-forwarded-for"], "203.0.113.7");
        assert_eq!(headers[header::CONTENT_TYPE], "application/grpc");
        assert!(headers.get(header::COOKIE).is_none());
        assert!(headers.get("grpc-timeout").is_none());
        assert_eq!(grpc.extensions().get::<u8>(), Some(&7));
    }

    #[test]
    fn an_answer_is_exactly_one_uncompressed_message() {
        let mut good = Bytes::from_static(b"\x00\x00\x00\x00\x02hi");
        assert_eq!(message_of(&mut good).unwrap(), Bytes::from_static(b"hi"));
        for bad in [
            &b"\x01\x00\x00\x00\x02hi"[..],
            b"\x00\x00\x00\x00\x03hi",
            b"\x00",
        ] {
            let mut bad = Bytes::copy_from_slice(bad);
            assert_eq!(message_of(&mut bad).unwrap_err().code(), Code::Internal);
        }
    }
}
