//! The phone-auth binary: parse the command line and run it. See `phone-auth --help`.
use std::process::ExitCode;

use clap::Parser;
use phone_auth::cli::Cli;

/// mimalloc instead of the system allocator: every call allocates and frees dozens of small
/// buffers (HTTP/2 frames, protobuf messages, strings), which glibc's malloc serves slower;
/// see docs/performance.md for the measured effect.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    Cli::parse().run().await
}
