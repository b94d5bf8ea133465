//! The generator's settings: flags, environment variables and defaults in one place.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, value_parser};
use sensorpipe::config::{TelemetryArgs, parse_duration};

/// Simulates temperature sensors and streams their readings to the ingest service.
///
/// Sends batches over one long-lived gRPC stream, keeps every unacknowledged batch and resends it
/// after a reconnect, and prints a summary at the end. Exits with 1 when readings could not be
/// delivered.
#[derive(Debug, Clone, Parser)]
// A flag given twice takes the last value, so scripts can append overrides.
#[command(
    name = "generator",
    version,
    about,
    long_about,
    args_override_self = true
)]
pub struct Config {
    /// URL of the ingest service's gRPC endpoint: `http://` or, with --tls-ca-file, `https://`.
    #[arg(long, env = "INGEST_URL", default_value = "http://127.0.0.1:50051")]
    pub ingest_url: String,

    /// File holding the bearer token to send to ingest (a token with the `write` scope, from
    /// `tokens create`); a file, so the secret never shows in the process list. Without it no
    /// token is sent, which only an ingest run with --insecure-no-auth accepts.
    #[arg(long, env = "GENERATOR_TOKEN_FILE", value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,

    /// Number of simulated sensors (1 to 1,000,000); readings go round-robin over them.
    #[arg(long, env = "GENERATOR_SENSORS", default_value_t = 100,
          value_parser = value_parser!(u32).range(1..=1_000_000))]
    pub sensors: u32,

    /// Readings per second over all sensors; 0 sends as fast as acks and --max-unacked allow.
    /// Each sensor reports every sensors/rate seconds.
    #[arg(long, env = "GENERATOR_RATE", default_value_t = 1000)]
    pub rate: u64,

    /// Readings per batch (1 to 10,000). When paced, a batch holds at most one second's worth of
    /// readings, so low rates still send every second.
    #[arg(long, env = "GENERATOR_BATCH_SIZE", default_value_t = 500,
          value_parser = value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,

    /// Stop after this many readings. With --duration as well, whichever comes first; with
    /// neither, run until Ctrl-C. [default: none]
    #[arg(long, env = "GENERATOR_COUNT", value_parser = value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Stop generating after this long, e.g. `30s`, `5m`, `1h 30m`; acks still outstanding then
    /// are awaited. [default: none]
    #[arg(long, env = "GENERATOR_DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Simulated time of the first reading, RFC 3339 (`2026-01-01T00:00:00Z`), to backfill
    /// history or replay a run exactly; only with `--rate 0`. Readings are 1 ms apart per sensor
    /// and are never sent before their time. [default: far enough back that the run ends now]
    #[arg(long, env = "GENERATOR_START", value_parser = humantime::parse_rfc3339_weak)]
    pub start: Option<std::time::SystemTime>,

    /// Seed of the simulated sensors: the same seed (and settings) replays the same values.
    /// [default: random, logged at start and shown in the summary]
    #[arg(long, env = "GENERATOR_SEED")]
    pub seed: Option<u64>,

    /// Share of readings broken on purpose (0 to 1), each breaking one validation rule; ingest
    /// should reject exactly these. For demos and tests.
    #[arg(long, env = "GENERATOR_BAD_RATE", default_value_t = 0.0, value_parser = parse_fraction)]
    pub bad_rate: f64,

    /// Most batches generated but not yet acknowledged, kept for resending (1 to 100,000). When
    /// full, generating waits for acks: backpressure.
    #[arg(long, env = "GENERATOR_MAX_UNACKED", default_value_t = 64,
          value_parser = value_parser!(u32).range(1..=100_000))]
    pub max_unacked: u32,

    /// Most unacked batches out on the stream at once (1 to 100,000; at most --max-unacked take
    /// effect). Enough to keep ingest busy, few enough that a batch is not queued behind seconds
    /// of others: its ack latency is about this many batches' worth of ingest's throughput.
    #[arg(long, env = "GENERATOR_MAX_IN_FLIGHT", default_value_t = 16,
          value_parser = value_parser!(u32).range(1..=100_000))]
    pub max_in_flight: u32,

    /// How long to keep trying to open a stream to ingest (at start or after losing it) before
    /// giving up and reporting every unacknowledged reading as undelivered.
    #[arg(long, env = "GENERATOR_GIVE_UP_AFTER", default_value = "60s",
          value_parser = parse_duration)]
    pub give_up_after: Duration,

    /// After Ctrl-C or SIGTERM: how long to wait for outstanding acks before summarizing.
    #[arg(long, env = "GENERATOR_SHUTDOWN_GRACE", default_value = "10s",
          value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    #[command(flatten)]
    pub tls: ClientTlsArgs,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// TLS towards ingest, for an `https://` --ingest-url.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientTlsArgs {
    /// CA certificate(s), PEM, that ingest's certificate must be signed by. Needed for https://;
    /// no system store is trusted. [default: none]
    #[arg(long, env = "GENERATOR_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate, PEM, for ingest with mTLS (--tls-client-ca-file). [default: none]
    #[arg(long, env = "GENERATOR_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of --tls-cert-file, PEM. [default: none]
    #[arg(long, env = "GENERATOR_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::try_parse_from(["generator"]).unwrap();
        assert_eq!(config.sensors, 100);
        assert_eq!(config.rate, 1000);
        assert_eq!(config.batch_size, 500);
        assert_eq!(config.max_unacked, 64);
        assert_eq!(config.give_up_after, Duration::from_secs(60));
        assert_eq!(config.bad_rate, 0.0);
    }

    #[test]
    fn parses_durations_and_fractions() {
        let config = Config::try_parse_from([
            "generator",
            "--duration",
            "1m 30s",
            "--bad-rate",
            "0.25",
            "--give-up-after",
            "500ms",
        ])
        .unwrap();
        assert_eq!(config.duration, Some(Duration::from_secs(90)));
        assert_eq!(config.bad_rate, 0.25);
        assert_eq!(config.give_up_after, Duration::from_millis(500));
    }

    #[test]
    fn rejects_out_of_range_values() {
        for args in [
            ["--bad-rate", "1.5"],
            ["--bad-rate", "NaN"],
            ["--batch-size", "0"],
            ["--batch-size", "10001"],
            ["--sensors", "0"],
            ["--count", "0"],
            ["--max-unacked", "0"],
            ["--duration", "soon"],
        ] {
            let argv = std::iter::once("generator").chain(args);
            assert!(Config::try_parse_from(argv).is_err(), "{args:?}");
        }
    }

    #[test]
    fn a_zero_in_flight_window_is_refused_naming_the_flag() {
        let config = Config::try_parse_from(["generator"]).unwrap();
        assert_eq!(config.max_in_flight, 16);
        let err = Config::try_parse_from(["generator", "--max-in-flight", "0"]).unwrap_err();
        assert!(err.to_string().contains("--max-in-flight"), "{err}");
    }

    #[test]
    fn new_flags_use_the_generator_env_prefix() {
        let command = <Config as clap::CommandFactory>::command();
        for arg in command.get_arguments() {
            let Some(env) = arg.get_env() else { continue };
            let env = env.to_string_lossy();
            assert!(
                env.starts_with("GENERATOR_")
                    || ["INGEST_URL", "LOG_FORMAT", "RUST_LOG"].contains(&&*env),
                "{env}"
            );
        }
    }
}
