//! The command line: `serve` (default), `migrate`, `healthcheck`. Settings come from the
//! environment and `.env`; `--help` lists every one of them.
use std::{net::SocketAddr, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{Config, build, shutdown_signal, store::Database, telemetry};

/// Every setting with its default and meaning: the shipped `.env.sample`.
const SETTINGS: &str = include_str!("../.env.sample");

#[derive(Parser, Debug)]
#[command(
    version,
    about = "gRPC phone-number login with one-time SMS codes and a referral graph",
    after_help = settings_summary(),
    after_long_help = format!("Settings (environment variables, also read from .env):\n\n{SETTINGS}")
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone, Copy)]
enum Command {
    /// Serve gRPC on LISTEN_ADDR until SIGINT/SIGTERM (the default).
    Serve,
    /// Apply database migrations to DATABASE_URL and exit.
    Migrate,
    /// Ask grpc.health.v1 on LISTEN_ADDR whether AuthService is SERVING; exit 0 if so, else 1.
    Healthcheck,
}

/// The variable names, for `-h`; `--help` prints them with defaults and comments.
fn settings_summary() -> String {
    let names: Vec<&str> = SETTINGS
        .lines()
        .filter_map(|line| line.trim_start_matches(['#', ' ']).split_once('='))
        .map(|(name, _)| name)
        .filter(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .collect();
    format!(
        "Settings (environment or .env; --help shows defaults): {}",
        names.join(", ")
    )
}

impl Cli {
    pub async fn run(self) -> ExitCode {
        let config = match Config::from_env() {
            Ok(config) => config,
            Err(error) => {
                eprintln!("phone-auth: {error}");
                return ExitCode::from(2);
            }
        };
        let command = self.command.unwrap_or(Command::Serve);
        if !matches!(command, Command::Healthcheck) {
            telemetry::init();
        }
        let result = match command {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(config).await,
            Command::Healthcheck => return healthcheck(&config).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(error = ?error, "phone-auth failed");
                eprintln!("phone-auth: {error:#}");
                ExitCode::FAILURE
            }
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Listening for SIGTERM starts before anything else: one that arrives while the stores
    // connect or migrations run is kept, and the server then drains at once.
    let shutdown = shutdown_signal();
    build(config).await?.run_until(shutdown).await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let stores = &config.stores;
    Database::connect(&stores.database_url, 1, stores.db_acquire_timeout)
        .await?
        .close()
        .await;
    tracing::info!("migrations applied");
    Ok(())
}

async fn healthcheck(config: &Config) -> ExitCode {
    match check_health(config).await {
        Ok(ServingStatus::Serving) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("phone-auth healthcheck: {status:?}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("phone-auth healthcheck: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn check_health(config: &Config) -> anyhow::Result<ServingStatus> {
    // A wildcard listen address is reached through loopback.
    let mut addr: SocketAddr = config.listen_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let mut endpoint = tonic::transport::Endpoint::from_shared(format!("{scheme}://{addr}"))?
        .timeout(Duration::from_secs(3));
    if let Some((cert, _)) = &config.tls {
        let pem = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
        let domain = std::env::var("HEALTHCHECK_TLS_DOMAIN").unwrap_or_else(|_| "localhost".into());
        endpoint = endpoint.tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(pem))
                .domain_name(domain),
        )?;
    }
    let channel = endpoint
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    let request = HealthCheckRequest {
        service: "phoneauth.v1.AuthService".into(),
    };
    Ok(HealthClient::new(channel)
        .check(request)
        .await?
        .into_inner()
        .status())
}
