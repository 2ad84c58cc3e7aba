//! The phone-auth binary: parse the command line and run it. See `phone-auth --help`.
use std::process::ExitCode;

use clap::Parser;
use phone_auth::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    Cli::parse().run().await
}
