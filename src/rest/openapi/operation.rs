//! One operation of the document: an RPC at one of its URLs, with its comment, its request (the
//! JSON body, or query parameters for a GET), its answer, its errors and its security.
use std::collections::BTreeSet;

use prost_reflect::MethodDescriptor;
use serde_json::{Value, json};

use super::{
    comments::{Comments, first_sentence},
    errors,
    schema::{Direction, Schemas},
    security,
};
use crate::{
    browser_credentials::{COOKIE_DELIVERY, DELIVERY_HEADER, SESSION_COOKIE},
    http_rule::{HttpRoute, RpcRoutes},
};

/// The operation for `rpc` at its `index`th route (the first is the proto's own rule, the
/// others its `additional_bindings`), and the error statuses it can answer.
pub fn operation(
    rpc: &RpcRoutes,
    index: usize,
    comments: &Comments,
    schemas: &mut Schemas,
) -> Result<(Value, BTreeSet<u16>), String> {
    let method = &rpc.rpc;
    let route = &rpc.routes[index];
    let grpc_path = rpc.grpc_path();
    let comment = comments.of(method.parent_file(), method.path());
    let credential = security::credential_of(&grpc_path);
    let statuses = errors::statuses_of(route, credential, comment);

    let mut responses = serde_json::Map::new();
    responses.insert("200".into(), answer(method, comments, schemas));
    for status in &statuses {
        let target = format!("#/components/responses/{}", errors::response_name(*status));
        responses.insert(status.to_string(), json!({ "$ref": target }));
    }
    let mut operation = json!({
        "operationId": operation_id(method, index),
        "tags": [method.parent_service().name()],
        "summary": first_sentence(comment),
        "description": format!(
            "{comment}\n\nThe trailing slash is optional: `{path}` answers too. As gRPC: \
             `{grpc_path}`.",
            path = route.path,
        ),
        "x-grpc-method": grpc_path,
        "responses": responses,
    });
    let mut parameters = query_parameters(method, route, schemas)?;
    if issues_session(method) {
        parameters.push(delivery_header());
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if route.body {
        let input = schemas.reference(&method.input(), Direction::Request);
        operation["requestBody"] = json!({
            // An empty body is the empty message: every field at its default.
            "required": false,
            "content": { "application/json": { "schema": input } },
        });
    }
    if let Some(security) = security::requirement(credential, route.method) {
        operation["security"] = security;
    }
    Ok((operation, statuses))
}

/// The RPC's name; `SetInviter2` and on for its additional bindings, as grpc-gateway numbers
/// them, since each operation needs an id of its own.
fn operation_id(method: &MethodDescriptor, index: usize) -> String {
    match index {
        0 => method.name().to_owned(),
        n => format!("{}{}", method.name(), n + 1),
    }
}

fn answer(method: &MethodDescriptor, comments: &Comments, schemas: &mut Schemas) -> Value {
    let output = method.output();
    let described = comments.of(output.parent_file(), output.path());
    let mut answer = json!({
        "description": match described {
            "" => output.name().to_owned(),
            text => first_sentence(text),
        },
        "content": {
            "application/json": { "schema": schemas.reference(&output, Direction::Answer) }
        },
    });
    if issues_session(method) {
        answer["headers"] = json!({
            "Set-Cookie": {
                "description": format!(
                    "With `{DELIVERY_HEADER}: {COOKIE_DELIVERY}`: the `{SESSION_COOKIE}` \
                     session cookie (HttpOnly) and its CSRF cookie."
                ),
                "schema": { "type": "string" },
            }
        });
    }
    answer
}

/// A GET takes the request's fields from the query string, by either name
/// (`referrals_page_size` or `referralsPageSize`); the document names the JSON one.
fn query_parameters(
    method: &MethodDescriptor,
    route: &HttpRoute,
    schemas: &mut Schemas,
) -> Result<Vec<Value>, String> {
    if route.body {
        return Ok(Vec::new());
    }
    let mut parameters = Vec::new();
    for field in method.input().fields() {
        let mut schema = schemas.field(&field, Direction::Request);
        // One string per name: a scalar, an enum, or a well-known type written as a string.
        let structured = matches!(schema["type"].as_str(), Some("object" | "array"));
        if structured || schema.get("$ref").is_some() {
            return Err(format!(
                "{}: {} is not a single value, which a query string cannot carry",
                method.full_name(),
                field.full_name()
            ));
        }
        let description = schema
            .as_object_mut()
            .and_then(|schema| schema.remove("description"))
            .unwrap_or(Value::Null);
        parameters.push(json!({
            "name": field.json_name(),
            "in": "query",
            "required": false,
            "description": description,
            "schema": schema,
        }));
    }
    Ok(parameters)
}

/// Whether the answer carries a new session token, which a browser may take as a cookie
/// instead (the rule `route_table.rs` serves by).
fn issues_session(method: &MethodDescriptor) -> bool {
    method.output().get_field_by_name("session_token").is_some()
}

fn delivery_header() -> Value {
    json!({
        "name": DELIVERY_HEADER,
        "in": "header",
        "required": false,
        "description": format!(
            "`{COOKIE_DELIVERY}` asks for the session as the HttpOnly `{SESSION_COOKIE}` cookie \
             instead of in the body (`sessionToken` is then empty): for pages on this server's \
             own origin, whose scripts then never hold the token."
        ),
        "schema": { "type": "string", "enum": [COOKIE_DELIVERY] },
    })
}
