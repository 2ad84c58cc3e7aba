//! The REST bindings of our RPCs, read from their `google.api.http` options.
//!
//! Shared, as one file, by the server (which routes REST calls with it) and by build.rs (which
//! writes the OpenAPI document with it and fails the build on a rule we cannot serve), so the
//! two can never disagree about a URL. It depends on `prost-reflect` alone for that reason.
//!
//! We serve the subset of `google.api.HttpRule` our API needs: literal paths (no `{field}`
//! templates, no `*` segments, no `:verb`), and `body: "*"` or no body (a GET takes its
//! fields from the query string). Anything else is refused with the method's name.
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, Value};

/// The packages whose services are ours, and so must have REST bindings.
pub const OUR_PACKAGE: &str = "phoneauth.v1";

/// One URL an RPC answers at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRoute {
    /// Upper-case HTTP method: GET, POST, PUT, PATCH or DELETE.
    pub method: &'static str,
    /// The literal path, starting with `/` and never ending in one.
    pub path: String,
    /// True for `body: "*"` (the JSON body is the request message); false for a call that takes
    /// its fields from the query string.
    pub body: bool,
}

/// An RPC of ours and the URLs it answers at (none when its proto has no `google.api.http`).
#[derive(Clone, Debug)]
pub struct RpcRoutes {
    pub rpc: MethodDescriptor,
    pub routes: Vec<HttpRoute>,
}

impl RpcRoutes {
    /// The gRPC path of the RPC: `/phoneauth.v1.AuthService/RequestCode`.
    pub fn grpc_path(&self) -> String {
        format!(
            "/{}/{}",
            self.rpc.parent_service().full_name(),
            self.rpc.name()
        )
    }
}

/// Every RPC of every service in [`OUR_PACKAGE`], in proto order, with its routes; an error
/// names the first rule we cannot serve.
pub fn rpc_routes(pool: &DescriptorPool) -> Result<Vec<RpcRoutes>, String> {
    let extension = pool
        .get_extension_by_name("google.api.http")
        .ok_or("the descriptor pool lacks google/api/annotations.proto")?;
    let mut all = Vec::new();
    for service in pool.services().filter(|s| s.package_name() == OUR_PACKAGE) {
        for rpc in service.methods() {
            let options = rpc.options();
            let mut routes = Vec::new();
            if options.has_extension(&extension) {
                let rule = options.get_extension(&extension);
                let Value::Message(rule) = rule.as_ref() else {
                    return Err(format!(
                        "{}: google.api.http is not a message",
                        rpc.full_name()
                    ));
                };
                read_rule(&rpc, rule, &mut routes, true)?;
            }
            all.push(RpcRoutes { rpc, routes });
        }
    }
    Ok(all)
}

fn read_rule(
    rpc: &MethodDescriptor,
    rule: &DynamicMessage,
    routes: &mut Vec<HttpRoute>,
    top_level: bool,
) -> Result<(), String> {
    let name = rpc.full_name();
    let string = |field: &str| {
        rule.get_field_by_name(field)
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    if rule.has_field_by_name("custom") {
        return Err(format!("{name}: custom HTTP methods are not supported"));
    }
    if !string("response_body").is_empty() {
        return Err(format!("{name}: response_body is not supported"));
    }
    let pattern = ["get", "post", "put", "patch", "delete"]
        .into_iter()
        .find(|method| rule.has_field_by_name(method));
    let Some(method) = pattern else {
        return Err(format!("{name}: google.api.http names no HTTP method"));
    };
    let path = string(method);
    check_path(&path).map_err(|problem| format!("{name}: path {path:?} {problem}"))?;
    let body = match string("body").as_str() {
        "*" => true,
        "" => false,
        field => {
            return Err(format!(
                "{name}: body {field:?}: only \"*\" or none is supported"
            ));
        }
    };
    let method = match method {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        _ => "DELETE",
    };
    if body && method == "GET" {
        return Err(format!("{name}: a GET cannot have a body"));
    }
    routes.push(HttpRoute { method, path, body });
    if let Some(more) = rule.get_field_by_name("additional_bindings") {
        let Some(more) = more.as_list() else {
            return Ok(());
        };
        if !top_level && !more.is_empty() {
            return Err(format!("{name}: additional_bindings cannot nest"));
        }
        for binding in more {
            if let Some(binding) = binding.as_message() {
                read_rule(rpc, binding, routes, false)?;
            }
        }
    }
    Ok(())
}

/// Literal paths only: `/users/auth`, not `/users/{id}`, `/v1/*` or `/users:search`.
fn check_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') || path.len() < 2 {
        return Err("must start with / and name something");
    }
    if path.ends_with('/') {
        return Err("must not end in / (both spellings are served)");
    }
    if path.contains(['{', '}', '*', ':']) {
        return Err("must be literal: templates, wildcards and verbs are not supported");
    }
    if path.contains("//") {
        return Err("has an empty segment");
    }
    Ok(())
}
