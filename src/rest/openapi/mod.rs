//! The OpenAPI 3.1 document of the REST API, written by build.rs into `OUT_DIR/openapi.json`
//! from the same descriptors and `google.api.http` rules the server routes by, and served at
//! `/users/docs/openapi.json` (`docs.rs`).
//!
//! These files belong to build.rs, not to the server: build.rs includes them with `#[path]`
//! beside the files they share with the server — the routes (`http_rule.rs`), the HTTP status
//! of each gRPC code (`http_status.rs`), who may call what (`grpc/credentials.rs`,
//! `browser_credentials.rs`) — which they name as `crate::…` of the build script. What the
//! document says about a URL, a status or a credential is therefore what the server does.
mod comments;
mod errors;
mod operation;
mod schema;
mod security;

use std::collections::BTreeSet;

use prost_reflect::DescriptorPool;
use serde_json::{Map, Value, json};

use crate::http_rule::rpc_routes;
use comments::Comments;
use schema::Schemas;

/// What the document says before any call.
const INTRODUCTION: &str = "\
Log in by phone number with a one-time SMS code, and keep who invited whom.

Flow: `POST /users/auth/` sends a code; `POST /users/user_login/` exchanges it for a session \
token; the other calls send it as `authorization: Bearer <session_token>` (**Authorize** above).

This is the REST/JSON face of the gRPC API in `proto/phoneauth/v1/`, generated from its \
`google.api.http` options and comments; the same port serves native gRPC and gRPC-Web. Every \
URL answers with and without its trailing slash. The JSON is the proto3 mapping: \
lowerCamelCase names out, either spelling in (`phone_number` or `phoneNumber`), 64-bit \
integers as strings, times in RFC 3339. Answers hold every field, at its default (`\"\"`, \
`0`, `false`, `[]`) when unset, except a message field (such as a time), which is there when \
set. Errors are the `google.rpc.Status` JSON shape under \
the HTTP status of their gRPC code, with their details decoded: branch on `ErrorInfo.reason`.";

/// The whole document.
pub fn document(pool: &DescriptorPool, version: &str) -> Result<Value, String> {
    let comments = Comments::of_pool(pool);
    let mut schemas = Schemas::new(&comments);
    let mut paths = Map::new();
    let mut tags = Vec::new();
    let mut error_statuses = BTreeSet::new();
    for rpc in rpc_routes(pool)? {
        let service = rpc.rpc.parent_service();
        if !tags.iter().any(|tag: &Value| tag["name"] == service.name()) {
            let description = comments.of(service.parent_file(), service.path());
            tags.push(json!({ "name": service.name(), "description": description }));
        }
        for index in 0..rpc.routes.len() {
            let route = &rpc.routes[index];
            let (operation, statuses) = operation::operation(&rpc, index, &comments, &mut schemas)?;
            error_statuses.extend(statuses);
            // The seed's spelling, with the slash.
            let item = paths
                .entry(format!("{}/", route.path))
                .or_insert_with(|| json!({}));
            let method = route.method.to_ascii_lowercase();
            if item.get(&method).is_some() {
                return Err(format!("{} {}/ is bound twice", route.method, route.path));
            }
            item[method] = operation;
        }
    }
    errors::add_schemas(pool, &mut schemas)?;
    let mut components = schemas.into_components();
    errors::finish_schemas(&mut components);
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "phone-auth",
            "version": version,
            "description": INTRODUCTION,
        },
        // Relative: "Try it out" calls the server that serves this page.
        "servers": [{ "url": "/" }],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": errors::responses(&error_statuses)?,
            "securitySchemes": security::schemes(),
        },
    }))
}
