//! The admin service's settings: flags, environment variables and defaults in one place.

use std::net::SocketAddr;

use clap::Parser;
use sensorpipe::config::{DatabaseArgs, TelemetryArgs};

/// Serves stored measurements over gRPC, gRPC-Web and HTTP JSON.
#[derive(Debug, Clone, Parser)]
#[command(name = "admin", version, about)]
pub struct Config {
    /// Address for gRPC (and, on the same port, gRPC-Web and HTTP JSON).
    #[arg(long, env = "ADMIN_LISTEN_ADDR", default_value = "127.0.0.1:50052")]
    pub listen_addr: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}
