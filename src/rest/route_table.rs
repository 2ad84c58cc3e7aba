//! Which RPC a REST method and path call, built once from the `google.api.http` options.
use std::{collections::HashMap, sync::Arc};

use http::Method;
use prost_reflect::{DescriptorPool, MessageDescriptor};

use super::http_rule::rpc_routes;

/// An RPC as REST calls it.
#[derive(Debug)]
pub struct RestRpc {
    /// The gRPC path the call is made on, in process: `/phoneauth.v1.AuthService/GetProfile`.
    pub grpc_path: String,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
    /// The JSON body is the request message (`body: "*"`); otherwise the query string is.
    pub body: bool,
}

impl RestRpc {
    /// Whether the answer carries a new session token (VerifyCode), which a browser may take as
    /// a cookie instead (`session_cookie.rs`).
    pub fn issues_session(&self) -> bool {
        self.output.get_field_by_name("session_token").is_some()
    }

    /// Whether a success ends the caller's session (Logout, LogoutAll), so the cookie goes too.
    pub fn ends_session(&self) -> bool {
        self.grpc_path
            .starts_with("/phoneauth.v1.AuthService/Logout")
    }
}

/// What a method and path found.
pub enum Lookup<'a> {
    Found(&'a Arc<RestRpc>),
    /// The path exists, with other methods (for `405` and its `Allow`).
    WrongMethod(Vec<&'static str>),
    NotFound,
}

/// The routes of every RPC of ours, by path without its trailing slash.
#[derive(Debug, Default)]
pub struct RouteTable {
    by_path: HashMap<String, Vec<(&'static str, Arc<RestRpc>)>>,
}

impl RouteTable {
    pub fn from_pool(pool: &DescriptorPool) -> Self {
        let mut table = Self::default();
        // build.rs ran the same reading on the same descriptors and failed the build on error.
        for rpc in rpc_routes(pool).expect("build.rs checked the google.api.http options") {
            let grpc_path = rpc.grpc_path();
            for route in &rpc.routes {
                let rest = Arc::new(RestRpc {
                    grpc_path: grpc_path.clone(),
                    input: rpc.rpc.input(),
                    output: rpc.rpc.output(),
                    body: route.body,
                });
                let methods = table.by_path.entry(route.path.clone()).or_default();
                assert!(
                    methods.iter().all(|(method, _)| *method != route.method),
                    "{} {} is bound twice",
                    route.method,
                    route.path
                );
                methods.push((route.method, rest));
            }
        }
        table
    }

    /// The seed's URLs end in `/` and ours do not: both spellings find the route.
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let path = match path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => trimmed,
            _ => path,
        };
        let Some(methods) = self.by_path.get(path) else {
            return Lookup::NotFound;
        };
        match methods.iter().find(|(known, _)| *known == method.as_str()) {
            Some((_, rpc)) => Lookup::Found(rpc),
            None => Lookup::WrongMethod(methods.iter().map(|(known, _)| *known).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::descriptor_pool;

    fn grpc_path(lookup: Lookup<'_>) -> String {
        match lookup {
            Lookup::Found(rpc) => rpc.grpc_path.clone(),
            Lookup::WrongMethod(allowed) => format!("405 {allowed:?}"),
            Lookup::NotFound => "404".into(),
        }
    }

    #[test]
    fn the_seeds_urls_call_their_rpcs_with_and_without_the_trailing_slash() {
        let table = RouteTable::from_pool(descriptor_pool());
        for path in ["/users/auth/", "/users/auth"] {
            assert_eq!(
                grpc_path(table.lookup(&Method::POST, path)),
                "/phoneauth.v1.AuthService/RequestCode"
            );
        }
        assert_eq!(
            grpc_path(table.lookup(&Method::PATCH, "/users/profile/")),
            "/phoneauth.v1.AuthService/SetInviter"
        );
        assert_eq!(
            grpc_path(table.lookup(&Method::GET, "/users/profile")),
            "/phoneauth.v1.AuthService/GetProfile"
        );
        assert_eq!(
            grpc_path(table.lookup(&Method::GET, "/users/logout/")),
            "405 [\"POST\"]"
        );
        assert_eq!(grpc_path(table.lookup(&Method::GET, "/users")), "404");
        assert_eq!(
            grpc_path(table.lookup(&Method::GET, "/users/auth//")),
            "404"
        );
        assert_eq!(grpc_path(table.lookup(&Method::GET, "/")), "404");
    }

    #[test]
    fn only_the_login_issues_a_session_and_only_the_logouts_end_one() {
        let table = RouteTable::from_pool(descriptor_pool());
        let all: Vec<_> = table.by_path.values().flatten().collect();
        let issuing: Vec<_> = all.iter().filter(|(_, rpc)| rpc.issues_session()).collect();
        assert_eq!(issuing.len(), 1);
        assert!(issuing[0].1.grpc_path.ends_with("/VerifyCode"));
        let ending: Vec<_> = all
            .iter()
            .filter(|(_, rpc)| rpc.ends_session())
            .map(|(_, rpc)| rpc.grpc_path.as_str())
            .collect();
        assert_eq!(ending.len(), 2, "{ending:?}");
    }
}
