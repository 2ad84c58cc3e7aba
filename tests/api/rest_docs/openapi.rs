//! The OpenAPI document at /users/docs/openapi.json, as the real server serves it: an operation
//! for every REST route of every RPC (`rest::http_rule::rpc_routes`) and no other, who may
//! call each, its comments, and the errors it answers, in the shape the answers really have.
use phone_auth::{
    grpc::requires_session,
    rest::{descriptor_pool, http_rule::rpc_routes},
};
use serde_json::{Value, json};

use crate::{helpers::TestApp, rest::client::Rest};

const STATUS_SCHEMA: &str = "#/components/schemas/google.rpc.Status";

async fn openapi(rest: &Rest) -> Value {
    let answer = rest.get("/users/docs/openapi.json", None).await;
    assert_eq!(answer.status, 200, "{answer:#?}");
    assert_eq!(answer.headers["content-type"], "application/json");
    assert!(answer.json.is_object(), "not JSON: {}", answer.text);
    answer.json.clone()
}

/// Every operation of the document: (method, path, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut all = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            all.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    all
}

/// The operation the document has for a route (its path is the seed's, with the slash).
fn operation_of<'a>(document: &'a Value, method: &str, path: &str) -> &'a Value {
    &document["paths"][format!("{path}/")][method.to_lowercase()]
}

/// A `{"$ref": "#/components/..."}` replaced by what it points at.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(target) => document.pointer(&target[1..]).expect("the $ref resolves"),
        None => value,
    }
}

#[tokio::test]
async fn the_document_has_an_operation_for_every_route_of_every_rpc_and_no_other() {
    let app = TestApp::spawn().await;
    let document = openapi(&Rest::http1(app.addr)).await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        document["openapi"]
    );
    // "Try it out" calls the server that served the page.
    assert_eq!(document["servers"], json!([{"url": "/"}]));
    let mut routes = 0;
    for rpc in rpc_routes(descriptor_pool()).unwrap() {
        assert!(!rpc.routes.is_empty(), "{} has no route", rpc.grpc_path());
        for route in &rpc.routes {
            routes += 1;
            let operation = operation_of(&document, route.method, &route.path);
            assert!(
                operation.is_object(),
                "the document lacks {} {}/ for {}",
                route.method,
                route.path,
                rpc.grpc_path()
            );
            assert_eq!(operation["x-grpc-method"], rpc.grpc_path());
            assert!(
                operation["operationId"]
                    .as_str()
                    .unwrap()
                    .starts_with(rpc.rpc.name())
            );
            assert_eq!(operation["requestBody"].is_object(), route.body);
        }
    }
    let operations = operations(&document);
    assert_eq!(operations.len(), routes, "{operations:#?}");
    let mut ids: Vec<_> = operations
        .iter()
        .map(|o| o.2["operationId"].to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), routes, "operation ids are unique");
}

#[tokio::test]
async fn calls_that_need_a_session_carry_the_bearer_scheme_and_open_ones_none() {
    let app = TestApp::spawn().await;
    let document = openapi(&Rest::http1(app.addr)).await;
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["sessionCookie"]["name"], "phoneauth_session");
    assert_eq!(schemes["csrfToken"]["name"], "x-csrf-token");
    assert_eq!(schemes["serviceToken"]["name"], "x-service-token");
    for (method, path, operation) in operations(&document) {
        let grpc_path = operation["x-grpc-method"].as_str().unwrap();
        let security = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let named = |scheme: &str| security.iter().any(|s| s.get(scheme).is_some());
        assert_eq!(named("bearerAuth"), requires_session(grpc_path), "{path}");
        assert_eq!(
            named("sessionCookie"),
            requires_session(grpc_path),
            "{path}"
        );
        // The cookie changes something only beside the CSRF header.
        let csrf = security.iter().any(|s| s.get("csrfToken").is_some());
        assert_eq!(
            csrf,
            requires_session(grpc_path) && method != "GET",
            "{path}"
        );
        let by_service = grpc_path == "/phoneauth.v1.SessionService/Introspect";
        assert_eq!(named("serviceToken"), by_service, "{path}");
        assert_eq!(
            security.is_empty(),
            !requires_session(grpc_path) && !by_service
        );
    }
    let login = operation_of(&document, "POST", "/users/user_login");
    assert_eq!(login["parameters"][0]["name"], "x-session-delivery");
}

#[tokio::test]
async fn the_protos_comments_show_through() {
    let app = TestApp::spawn().await;
    let document = openapi(&Rest::http1(app.addr)).await;
    let request_code = operation_of(&document, "POST", "/users/auth");
    assert_eq!(
        request_code["summary"],
        "Sends a one-time verification code to the phone number by SMS"
    );
    // Lines wrapped in the proto stay wrapped: Markdown joins them.
    let description = request_code["description"].as_str().unwrap();
    let description = description.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(description.contains("A new request replaces any code sent earlier"));
    let answer = &document["components"]["schemas"]["phoneauth.v1.RequestCodeResponse"];
    let phone = answer["properties"]["phoneNumber"]["description"].as_str();
    assert!(phone.unwrap().contains("normalised to E.164"), "{answer:#}");
    // The proto3 JSON mapping: int64 as a string, times as RFC 3339 strings.
    let profile = &document["components"]["schemas"]["phoneauth.v1.Profile"]["properties"];
    assert_eq!(profile["userId"]["type"], "string");
    assert_eq!(profile["createdAt"]["format"], "date-time");
    let list = operation_of(&document, "GET", "/users/list");
    assert_eq!(list["parameters"][0]["name"], "pageSize");
    assert!(list["parameters"][0]["description"].is_string());
}

#[tokio::test]
async fn every_error_answer_is_the_status_shape_under_the_statuses_the_call_can_answer() {
    let app = TestApp::spawn().await;
    let document = openapi(&Rest::http1(app.addr)).await;
    for (method, path, operation) in operations(&document) {
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses.iter().filter(|(status, _)| *status != "200") {
            let response = resolve(&document, response);
            let schema = &response["content"]["application/json"]["schema"];
            assert_eq!(schema["$ref"], STATUS_SCHEMA, "{method} {path} {status}");
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            );
        }
        for always in ["400", "500", "503"] {
            assert!(
                responses.contains_key(always),
                "{method} {path} lacks {always}"
            );
        }
    }
    let statuses = |method: &str, path: &str| -> Vec<String> {
        let operation = operation_of(&document, method, path);
        operation["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let set_inviter = statuses("PATCH", "/users/profile");
    for status in ["401", "403", "404", "409", "412", "413", "415", "429"] {
        assert!(set_inviter.contains(&status.into()), "{set_inviter:?}");
    }
    assert!(statuses("GET", "/users/list").contains(&"403".into()));
    let request_code = statuses("POST", "/users/auth");
    assert!(request_code.contains(&"429".into()), "{request_code:?}");
    assert!(!request_code.contains(&"401".into()), "{request_code:?}");

    let components = &document["components"];
    let throttled = &components["responses"]["Error429"];
    assert!(
        throttled["headers"]["Retry-After"].is_object(),
        "{throttled:#}"
    );
    assert!(components["responses"]["Error401"]["headers"]["WWW-Authenticate"].is_object());
    let details = &components["schemas"]["google.rpc.Status"]["properties"]["details"];
    for detail in ["ErrorInfo", "BadRequest", "RetryInfo"] {
        let target = format!("#/components/schemas/google.rpc.{detail}");
        let listed = details["items"]["oneOf"].as_array().unwrap();
        assert!(
            listed.iter().any(|d| d["$ref"] == target.as_str()),
            "{detail}"
        );
        let schema = resolve(&document, &json!({ "$ref": target })).clone();
        let type_url = format!("type.googleapis.com/google.rpc.{detail}");
        assert_eq!(schema["properties"]["@type"]["const"], type_url);
    }
}

#[tokio::test]
async fn answers_hold_every_field_the_document_says_they_always_hold() {
    let app = TestApp::spawn().await;
    let rest = Rest::http1(app.addr);
    let document = openapi(&rest).await;
    let required = |schema: &str| -> Vec<String> {
        let schema = &document["components"]["schemas"][schema];
        let names = schema["required"]
            .as_array()
            .expect("answers list required fields");
        names
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    let sent = rest
        .post(
            "/users/auth/",
            None,
            json!({"phone_number": "+79990002001"}),
        )
        .await;
    for field in required("phoneauth.v1.RequestCodeResponse") {
        assert!(sent.assert_ok().get(&field).is_some(), "{field}: {sent:#?}");
    }
    let refused = rest
        .post("/users/auth/", None, json!({"phoneNumber": "1"}))
        .await;
    refused.assert_error(400, 3);
    for field in required("google.rpc.Status") {
        assert!(refused.json.get(&field).is_some(), "{field}: {refused:#?}");
    }
    let detail = refused.detail("google.rpc.ErrorInfo").unwrap();
    for field in required("google.rpc.ErrorInfo") {
        assert!(detail.get(&field).is_some(), "{field}: {detail:#}");
    }
}
