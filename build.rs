//! Generates the gRPC code, the descriptor set that reflection serves, and the OpenAPI
//! document of the REST API (`src/rest/openapi/`).
//!
//! `protox` compiles the .proto files in pure Rust, so no system `protoc` is needed. Source info
//! is kept in the descriptor set so that the comments in auth.proto show through reflection.
//!
//! The descriptor set also carries `google/rpc/status.proto` and `google/rpc/error_details.proto`
//! (vendored unchanged from googleapis, as tonic-types ships them, under their canonical names):
//! our errors carry `google.rpc.BadRequest`, `ErrorInfo` and `RetryInfo` details, and grpcurl and
//! the GUI tools can decode them only when reflection can describe those types. Code is
//! generated for auth.proto alone; the details are encoded with `tonic-types`.
//!
//! The generated service decodes with `crate::grpc::ProtoCodec`, which answers an undecodable
//! request INVALID_ARGUMENT in our words; it names the message through `prost::Name`, which
//! `enable_type_names` implements for every message.
use std::{env, path::PathBuf};

/// The REST bindings, read the same way the server reads them.
#[path = "src/rest/http_rule.rs"]
#[allow(dead_code)]
mod http_rule;

/// The OpenAPI document, from the same rules and the files below, which the server reads too.
#[path = "src/rest/openapi/mod.rs"]
mod openapi;

#[path = "src/rest/http_status.rs"]
mod http_status;

#[path = "src/grpc/credentials.rs"]
mod credentials;

#[path = "src/rest/browser_credentials.rs"]
#[allow(dead_code)]
mod browser_credentials;

const ERROR_DETAILS: &[&str] = &["google/rpc/status.proto", "google/rpc/error_details.proto"];

/// `google.api.http` (vendored unchanged from googleapis, as envoy-types ships them): the REST
/// URL of each RPC is an option in the proto.
const GOOGLE_API: [&str; 2] = ["google/api/annotations.proto", "google/api/http.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/phoneauth/v1/auth.proto",
        "proto/phoneauth/v1/session.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    for file in ERROR_DETAILS.iter().chain(&GOOGLE_API) {
        println!("cargo:rerun-if-changed=proto/{file}");
    }
    for shared in [
        "src/rest/http_rule.rs",
        "src/rest/openapi",
        "src/rest/http_status.rs",
        "src/grpc/credentials.rs",
        "src/rest/browser_credentials.rs",
    ] {
        println!("cargo:rerun-if-changed={shared}");
    }

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(protos)?;
    for file in ERROR_DETAILS {
        compiler.open_file(file)?;
    }

    // A rule the server could not route fails the build here, naming the RPC (and so does a
    // call the document cannot describe).
    let pool = compiler.descriptor_pool();
    http_rule::rpc_routes(&pool)?;
    let document = openapi::document(&pool, env!("CARGO_PKG_VERSION"))?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("openapi.json"),
        serde_json::to_vec_pretty(&document)?,
    )?;
    std::fs::write(
        out_dir.join("phoneauth_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    let mut api = compiler.file_descriptor_set();
    // No code for the google.rpc and google.api files: they are there for reflection and REST.
    // (google/protobuf stays: prost-build reads the well-known types it maps to prost-types.)
    api.file
        .retain(|file| !ERROR_DETAILS.contains(&file.name()) && !GOOGLE_API.contains(&file.name()));
    let mut prost = tonic_prost_build::Config::new();
    prost.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::grpc::ProtoCodec")
        .compile_fds_with_config(api, prost)?;
    Ok(())
}
