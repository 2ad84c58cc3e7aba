//! phone-auth: a gRPC service that logs users in by phone number with a one-time SMS code and
//! keeps a referral graph.
//!
//! [`build`] connects the stores and binds the listener; [`App::run_until`] serves. Layers:
//! `grpc` (transport) → `auth` (use cases) → `store` / `sms` (adapters), all speaking `domain`.
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod page;
pub mod rest;
pub mod sms;
pub mod startup;
pub mod store;
pub mod telemetry;

/// Code generated from proto/phoneauth/v1/auth.proto.
#[allow(clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("phoneauth.v1");

    /// The encoded descriptor set (with comments) that reflection serves.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("phoneauth_descriptor");
}

pub use config::Config;
pub use startup::{App, build, shutdown_signal};
