//! The generator's settings: flags, environment variables and defaults in one place.

use clap::Parser;
use sensorpipe::config::TelemetryArgs;

/// Simulates temperature sensors and streams their readings to the ingest service.
#[derive(Debug, Clone, Parser)]
#[command(name = "generator", version, about)]
pub struct Config {
    /// URL of the ingest service's gRPC endpoint.
    #[arg(long, env = "INGEST_URL", default_value = "http://127.0.0.1:50051")]
    pub ingest_url: String,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}
