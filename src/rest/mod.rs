//! REST/JSON on the same port as gRPC, generated from the proto: each RPC answers at the URL its
//! `google.api.http` option names ([`http_rule`]), in the proto3 JSON mapping.
//!
//! [`RestApi`] finds the RPC ([`route_table`]), reads the request message from JSON or the query
//! string (`json_in`), takes a browser's session cookie (`session_cookie`), makes the call in
//! process through the gRPC stack (`grpc_call`) and answers JSON (`answer`).
//!
//! [`docs_router`] serves the API docs page and the OpenAPI document build.rs writes from the
//! same rules (`openapi/`, which only build.rs compiles).
mod answer;
mod browser_credentials;
mod docs;
mod grpc_call;
pub mod http_rule;
pub(crate) mod http_status;
mod json_in;
mod json_out;
mod route_table;
mod service;
pub mod session_cookie;

pub use docs::docs_router;
pub use service::{RestApi, RestSettings};

use std::sync::LazyLock;

use prost_reflect::DescriptorPool;

/// Our descriptors (with google.api, google.rpc and the well-known types they import), decoded
/// once: the REST routes and the JSON mapping both read them.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
        DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("build.rs wrote a valid descriptor set")
    });
    &POOL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_ours_has_a_rest_route() {
        let all = http_rule::rpc_routes(descriptor_pool()).unwrap();
        assert!(all.len() >= 8, "{all:?}");
        for rpc in &all {
            assert!(
                !rpc.routes.is_empty(),
                "{} has no google.api.http option: give it a REST URL",
                rpc.grpc_path()
            );
        }
        let set_inviter = all
            .iter()
            .find(|rpc| rpc.rpc.name() == "SetInviter")
            .unwrap();
        let methods: Vec<_> = set_inviter.routes.iter().map(|r| r.method).collect();
        assert_eq!(methods, ["POST", "PATCH"]);
        assert!(
            set_inviter
                .routes
                .iter()
                .all(|r| r.path == "/users/profile" && r.body)
        );
    }
}
