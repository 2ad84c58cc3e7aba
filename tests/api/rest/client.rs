//! A REST client as curl or a browser's fetch would call: JSON over HTTP/1.1 (or h2 with prior
//! knowledge), with whatever headers a test needs, and the whole answer kept for asserting.
use std::net::SocketAddr;

use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::Value;
use tonic::codegen::Bytes;

/// The server at `addr`, over one HTTP version.
pub struct Rest {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    version: Version,
}

/// What the server answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The JSON body (`Value::Null` when the body is not JSON; `text` has it then, for the
    /// failure message).
    pub json: Value,
    pub text: String,
}

impl Answer {
    /// The `google.rpc.Status` detail of type `name` (`"google.rpc.BadRequest"`), if present.
    pub fn detail(&self, name: &str) -> Option<&Value> {
        let wanted = format!("type.googleapis.com/{name}");
        self.json["details"]
            .as_array()?
            .iter()
            .find(|d| d["@type"] == wanted.as_str())
    }

    /// The field the BadRequest detail names.
    pub fn bad_field(&self) -> Option<&str> {
        self.detail("google.rpc.BadRequest")?["fieldViolations"][0]["field"].as_str()
    }

    /// The ErrorInfo reason.
    pub fn reason(&self) -> Option<&str> {
        self.detail("google.rpc.ErrorInfo")?["reason"].as_str()
    }

    /// Asserts an error answer: its HTTP status, gRPC code and shape, with no gRPC headers.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: i64) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{self:#?}");
        assert_eq!(self.json["code"], code, "{self:#?}");
        assert!(
            self.json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:#?}"
        );
        assert!(self.json["details"].is_array(), "{self:#?}");
        self.assert_no_grpc_headers()
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{self:#?}");
        self.assert_no_grpc_headers();
        &self.json
    }

    #[track_caller]
    fn assert_no_grpc_headers(&self) -> &Self {
        for name in self.headers.keys() {
            assert!(
                !name.as_str().starts_with("grpc-"),
                "{name} leaked: {self:#?}"
            );
        }
        assert_eq!(self.headers[http::header::CONTENT_TYPE], "application/json");
        self
    }
}

impl Rest {
    pub fn http1(addr: SocketAddr) -> Self {
        Self::over(addr, Version::HTTP_11)
    }

    pub fn h2(addr: SocketAddr) -> Self {
        Self::over(addr, Version::HTTP_2)
    }

    fn over(addr: SocketAddr, version: Version) -> Self {
        let mut builder = Client::builder(TokioExecutor::new());
        builder.http2_only(version == Version::HTTP_2);
        Self {
            client: builder.build_http(),
            base: format!("http://{addr}"),
            version,
        }
    }

    /// Any request: `body` is sent as it is, with the headers given (and no others).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body.into()))
            .expect("a valid request");
        let response = self
            .client
            .request(request)
            .await
            .expect("the server answers");
        assert_eq!(response.version(), self.version);
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("the whole body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer {
            status: parts.status,
            headers: parts.headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    /// POST (or PATCH) `json` as application/json, with a bearer token when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Value,
    ) -> Answer {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        self.send(method, path, &headers, json.to_string()).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, json: Value) -> Answer {
        self.call(Method::POST, path, token, json).await
    }

    /// GET with a bearer token when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        self.send(Method::GET, path, &headers, Bytes::new()).await
    }

    /// RequestCode then VerifyCode over REST: the login's answer.
    pub async fn login(&self, phone: &str) -> Value {
        let sent = self
            .post(
                "/users/auth/",
                None,
                serde_json::json!({"phone_number": phone}),
            )
            .await;
        let code = sent.assert_ok()["debugCode"]
            .as_str()
            .expect("console sender")
            .to_owned();
        let login = self
            .post(
                "/users/user_login/",
                None,
                serde_json::json!({"phone_number": phone, "verification_code": code}),
            )
            .await;
        login.assert_ok().clone()
    }
}
