//! The phone-auth binary: read config, start logging, serve until SIGINT/SIGTERM.
use std::process::ExitCode;

use phone_auth::{Config, build, shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("phone-auth: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init();
    let served = match build(config).await {
        Ok(app) => app.run_until(shutdown_signal()).await,
        Err(error) => Err(error),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = ?error, "phone-auth failed");
            eprintln!("phone-auth: {error:#}");
            ExitCode::FAILURE
        }
    }
}
