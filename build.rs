//! Generates the gRPC code and the descriptor set that reflection serves.
//!
//! `protox` compiles the .proto files in pure Rust, so no system `protoc` is needed. Source info
//! is kept in the descriptor set so that the comments in auth.proto show through reflection.
//!
//! The generated service decodes with `crate::grpc::ProtoCodec`, which answers an undecodable
//! request INVALID_ARGUMENT in our words; it names the message through `prost::Name`, which
//! `enable_type_names` implements for every message.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/phoneauth/v1/auth.proto",
        "proto/phoneauth/v1/session.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(protos)?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("phoneauth_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    let mut prost = tonic_prost_build::Config::new();
    prost.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::grpc::ProtoCodec")
        .compile_fds_with_config(compiler.file_descriptor_set(), prost)?;
    Ok(())
}
