//! The ingest service's settings: flags, environment variables and defaults in one place.

use std::net::SocketAddr;

use clap::Parser;
use sensorpipe::config::{KafkaArgs, TelemetryArgs};

/// Accepts sensor readings over gRPC and publishes them durably to Kafka.
#[derive(Debug, Clone, Parser)]
#[command(name = "ingest", version, about)]
pub struct Config {
    /// Address for gRPC (and, on the same port, HTTP).
    #[arg(long, env = "INGEST_LISTEN_ADDR", default_value = "127.0.0.1:50051")]
    pub listen_addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}
