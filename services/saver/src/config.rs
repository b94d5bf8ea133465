//! The saver's settings: flags, environment variables and defaults in one place.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use sensorpipe::config::{DatabaseArgs, KafkaArgs, TelemetryArgs};

/// Consumes readings from Kafka and stores each exactly once in PostgreSQL.
#[derive(Debug, Clone, Parser)]
#[command(name = "saver", version, about)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address for gRPC health (readiness) and, later, metrics.
    #[arg(long, env = "SAVER_LISTEN_ADDR", default_value = "127.0.0.1:50053")]
    pub listen_addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// What to do; `run` when none is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply the embedded database migrations, then serve.
    Run,
    /// Apply the embedded database migrations and exit.
    Migrate,
}
