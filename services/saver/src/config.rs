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
    pub membership: MembershipArgs,
    #[command(flatten)]
    pub readiness: ReadinessArgs,
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

/// Who the saver is in its consumer group, which decides how fast a restart takes over.
#[derive(Debug, Clone, Args)]
pub struct MembershipArgs {
    /// This saver's static identity in the group (Kafka's `group.instance.id`): a saver that
    /// restarts with the same identity takes its partitions back at once, without waiting for its
    /// old session to expire. `auto`: `saver-<host name>-<listen address>`, stable across restarts
    /// and distinct for savers on one host; `none`: a new member at every start (no static
    /// membership). Two running savers must never share one: the newer one fences the older.
    #[arg(long, env = "SAVER_INSTANCE_ID", default_value = "auto", value_parser = parse_instance_id)]
    pub instance_id: InstanceId,
    /// How long the group waits for a silent member (crashed, cut off, or stopped for good)
    /// before handing its partitions to the others. Kafka bounds it (by default 6 s to 30 min).
    #[arg(long, env = "SAVER_SESSION_TIMEOUT", default_value = "10s",
          value_parser = parse_session_timeout)]
    pub session_timeout: Duration,
}

/// The saver's identity in its consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceId {
    /// Derived from the host name and the listen address.
    Auto,
    /// No static identity: a dynamic member, new at every start.
    None,
    /// Exactly this.
    Named(String),
}

/// What Kafka accepts as `group.instance.id`: 1 to 249 of `A-Z a-z 0-9 . _ -`.
pub fn parse_instance_id(text: &str) -> Result<InstanceId, String> {
    match text {
        "auto" => Ok(InstanceId::Auto),
        "none" => Ok(InstanceId::None),
        _ if text.is_empty() || text.len() > 249 => {
            Err(format!("`{text}` must be 1 to 249 characters long"))
        }
        _ if !text.bytes().all(instance_id_byte) => Err(format!(
            "`{text}` may only hold A-Z a-z 0-9 . _ - (or be `auto` or `none`)"
        )),
        _ => Ok(InstanceId::Named(text.to_owned())),
    }
}

pub(crate) fn instance_id_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-')
}

/// Whole milliseconds from 1 s to 1 h: below that a member is dropped on a hiccup, above it
/// librdkafka refuses.
fn parse_session_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_duration(text)?;
    if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&timeout) {
        return Err(format!("`{text}` must be between 1s and 1h"));
    }
    Ok(timeout)
}

/// How the saver finds out that PostgreSQL is gone while it has nothing to write.
#[derive(Debug, Clone, Args)]
pub struct ReadinessArgs {
    /// How often PostgreSQL is asked (`SELECT 1`) while no batch write succeeded lately, so
    /// health turns NOT_SERVING when it goes away even if no readings arrive.
    #[arg(long, env = "SAVER_DATABASE_PROBE_INTERVAL", default_value = "1s",
          value_parser = parse_positive_duration)]
    pub database_probe_interval: Duration,
    /// How long one probe (connecting included) may take before PostgreSQL counts as unreachable.
    #[arg(long, env = "SAVER_DATABASE_PROBE_TIMEOUT", default_value = "5s",
          value_parser = parse_positive_duration)]
    pub database_probe_timeout: Duration,
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
        let config = parse(&[]).unwrap();
        assert_eq!(config.membership.instance_id, InstanceId::Auto);
        assert_eq!(config.membership.session_timeout, Duration::from_secs(10));
        assert_eq!(
            config.readiness.database_probe_interval,
            Duration::from_secs(1)
        );
        assert_eq!(
            config.readiness.database_probe_timeout,
            Duration::from_secs(5)
        );
    }

    #[test]
    fn instance_ids() {
        let id = |value: &str| {
            parse(&["--instance-id", value])
                .unwrap()
                .membership
                .instance_id
        };
        assert_eq!(id("none"), InstanceId::None);
        assert_eq!(id("saver-1.b_c"), InstanceId::Named("saver-1.b_c".into()));
    }

    #[test]
    fn settings_that_cannot_work_are_refused_naming_the_flag() {
        let refusal = |flag: &str, value: &str| parse(&[flag, value]).unwrap_err().to_string();
        let zero_counts = ["--batch-size", "--writers"].map(|flag| (flag, "0"));
        let zero_or_unitless = [
            ("--batch-timeout", "0ms"),
            ("--max-backoff", "0s"),
            ("--batch-timeout", "100"),
            ("--database-probe-interval", "0s"),
            ("--database-probe-timeout", "0ms"),
            ("--database-probe-interval", "1"),
            ("--session-timeout", "500ms"),
            ("--session-timeout", "2h"),
            ("--session-timeout", "10"),
            ("--instance-id", ""),
            ("--instance-id", "saver:1"),
            ("--instance-id", "saver 1"),
        ];
        for (flag, value) in zero_counts.into_iter().chain(zero_or_unitless) {
            let error = refusal(flag, value);
            assert!(error.contains(flag), "{flag} {value}: {error}");
        }
    }
}
