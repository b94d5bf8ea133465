//! The saver's settings: flags, environment variables and defaults in one place.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand, builder::RangedU64ValueParser};
use sensorpipe::config::{
    DEFAULT_DLQ_TOPIC, DatabaseArgs, KafkaArgs, TelemetryArgs, parse_duration,
    parse_positive_duration,
};

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
    #[arg(long, env = "SAVER_BATCH_SIZE", default_value_t = 5_000, value_parser = at_least_one())]
    pub batch_size: usize,
    /// ...or this long after its first record arrived.
    #[arg(long, env = "SAVER_BATCH_TIMEOUT", default_value = "100ms",
          value_parser = parse_positive_duration)]
    pub batch_timeout: Duration,
    /// PostgreSQL connections writing each batch at once (split by sensor).
    #[arg(long, env = "SAVER_WRITERS", default_value_t = 2, value_parser = at_least_one())]
    pub writers: usize,
    /// Longest pause between retries while PostgreSQL or Kafka fails.
    #[arg(long, env = "SAVER_MAX_BACKOFF", default_value = "5s",
          value_parser = parse_positive_duration)]
    pub max_backoff: Duration,
    /// How long SIGTERM waits for the batch in hand to be stored and committed.
    #[arg(long, env = "SAVER_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

fn at_least_one() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(["saver"].iter().chain(args))
    }

    #[test]
    fn defaults_and_durations_with_units() {
        let consumer = parse(&[]).unwrap().consumer;
        assert_eq!(consumer.batch_timeout, Duration::from_millis(100));
        assert_eq!(consumer.max_backoff, Duration::from_secs(5));
        let consumer = parse(&["--batch-timeout", "2s"]).unwrap().consumer;
        assert_eq!(consumer.batch_timeout, Duration::from_secs(2));
    }

    #[test]
    fn settings_that_cannot_work_are_refused_naming_the_flag() {
        let refusal = |flag: &str, value: &str| parse(&[flag, value]).unwrap_err().to_string();
        let zero_counts = ["--batch-size", "--writers"].map(|flag| (flag, "0"));
        let zero_or_unitless = [
            ("--batch-timeout", "0ms"),
            ("--max-backoff", "0s"),
            ("--batch-timeout", "100"),
        ];
        for (flag, value) in zero_counts.into_iter().chain(zero_or_unitless) {
            let error = refusal(flag, value);
            assert!(error.contains(flag), "{flag} {value}: {error}");
        }
    }
}
