//! Generates the gRPC code and the descriptor set that reflection serves.
//!
//! `protox` compiles the .proto files in pure Rust, so no system `protoc` is needed. Source info
//! is kept in the descriptor set so that the comments in auth.proto show through reflection.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/phoneauth/v1/auth.proto";
    println!("cargo:rerun-if-changed={proto}");

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_file(proto)?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("phoneauth_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
