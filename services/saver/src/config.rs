//! The saver's settings: flags, environment variables and defaults in one place.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand};
use sensorpipe::config::{DEFAULT_DLQ_TOPIC, DatabaseArgs, KafkaArgs, TelemetryArgs};

/// Consumes readings from Kafka and stores each exactly once in PostgreSQL.
#[derive(Debug, Clone, Parser)]
#[command(name = "saver", version, about)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address for gRPC health (readiness: NOT_SERVING while PostgreSQL is unreachable) and, on
    /// the same port, `GET /metrics`.
    #[arg(long, env = "SAVER_LISTEN_ADDR", default_value = "127.0.0.1:50053")]
    pub listen_addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub consumer: ConsumerArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// What to do; `run` when none is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply the embedded database migrations, then consume and store.
    Run,
    /// Apply the embedded database migrations and exit.
    Migrate,
}

/// How records are consumed, batched and stored.
#[derive(Debug, Clone, Args)]
pub struct ConsumerArgs {
    /// Where records that cannot be stored go, with headers saying why and where from.
    #[arg(long, env = "KAFKA_DLQ_TOPIC", default_value = DEFAULT_DLQ_TOPIC)]
    pub kafka_dlq_topic: String,
    /// Kafka consumer group; savers in one group share the partitions.
    #[arg(long, env = "SAVER_GROUP_ID", default_value = "measurement-saver")]
    pub group_id: String,
    /// A batch is written once it holds this many records...
    #[arg(long, env = "SAVER_BATCH_SIZE", default_value_t = 5_000)]
    pub batch_size: usize,
    /// ...or this many milliseconds after its first record arrived.
    #[arg(long, env = "SAVER_BATCH_TIMEOUT_MS", default_value_t = 100)]
    pub batch_timeout_ms: u64,
    /// PostgreSQL connections writing each batch at once (split by sensor).
    #[arg(long, env = "SAVER_WRITERS", default_value_t = 2)]
    pub writers: usize,
    /// Longest pause between retries while PostgreSQL or Kafka fails, in milliseconds.
    #[arg(long, env = "SAVER_MAX_BACKOFF_MS", default_value_t = 5_000)]
    pub max_backoff_ms: u64,
    /// How long SIGTERM waits for the batch in hand to be stored and committed, in seconds.
    #[arg(long, env = "SAVER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

impl ConsumerArgs {
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_size == 0 {
            return Err("--batch-size must be at least 1".into());
        }
        if self.writers == 0 {
            return Err("--writers must be at least 1".into());
        }
        if self.batch_timeout_ms == 0 {
            return Err("--batch-timeout-ms must be at least 1".into());
        }
        Ok(())
    }

    pub fn batch_timeout(&self) -> Duration {
        Duration::from_millis(self.batch_timeout_ms)
    }

    pub fn max_backoff(&self) -> Duration {
        Duration::from_millis(self.max_backoff_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}
