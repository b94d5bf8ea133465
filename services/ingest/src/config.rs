//! The ingest service's settings: flags, environment variables and defaults in one place.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser};
use sensorpipe::config::{
    AuthArgs, KafkaArgs, TelemetryArgs, TlsArgs, parse_duration, parse_positive_duration,
};

/// Accepts sensor readings over gRPC and HTTP and publishes them durably to Kafka.
#[derive(Debug, Clone, Parser)]
#[command(name = "ingest", version, about)]
pub struct Config {
    /// Address for gRPC and, on the same port, HTTP (`POST /measurements`, `GET /metrics`).
    #[arg(long, env = "INGEST_LISTEN_ADDR", default_value = "127.0.0.1:50051")]
    pub listen_addr: SocketAddr,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// What a reading may be, and how much work may be in flight.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Lowest accepted temperature, in °C (inclusive).
    #[arg(long, env = "INGEST_MIN_CELSIUS", default_value_t = -90.0, allow_negative_numbers = true)]
    pub min_celsius: f64,
    /// Highest accepted temperature, in °C (inclusive).
    #[arg(
        long,
        env = "INGEST_MAX_CELSIUS",
        default_value_t = 150.0,
        allow_negative_numbers = true
    )]
    pub max_celsius: f64,
    /// How far in the future `measured_at` may lie (sensor clock skew).
    #[arg(long, env = "INGEST_MAX_FUTURE_SKEW", default_value = "5m", value_parser = parse_duration)]
    pub max_future_skew: Duration,
    /// Most readings one batch may carry.
    #[arg(long, env = "INGEST_MAX_BATCH_SIZE", default_value_t = 10_000)]
    pub max_batch_size: usize,
    /// Batches of one stream being published at once; past it the stream is not read (HTTP/2 flow
    /// control then slows the sender down).
    #[arg(long, env = "INGEST_MAX_IN_FLIGHT_BATCHES", default_value_t = 16)]
    pub max_in_flight_batches: usize,
    /// Readings being published at once, over all callers: bounds memory however fast they send.
    #[arg(long, env = "INGEST_MAX_IN_FLIGHT_READINGS", default_value_t = 200_000)]
    pub max_in_flight_readings: usize,
    /// How long Kafka may take to confirm a reading before its batch fails with UNAVAILABLE (the
    /// producer's `message.timeout.ms`).
    #[arg(long, env = "INGEST_DELIVERY_TIMEOUT", default_value = "30s",
          value_parser = parse_positive_duration)]
    pub delivery_timeout: Duration,
    /// How long the producer holds a record to send it with others (librdkafka's `linger.ms`,
    /// to the microsecond, at most 900s). Every ack waits this long at least, so a caller with
    /// one reading at a time waits it per reading. `0` sends at once, and still batches: what
    /// arrives while earlier requests to the broker are under way goes out together.
    #[arg(long, env = "INGEST_KAFKA_LINGER", default_value = "0s", value_parser = parse_duration)]
    pub kafka_linger: Duration,
    /// How long a unary or HTTP call waits for room before RESOURCE_EXHAUSTED / 429.
    #[arg(long, env = "INGEST_ADMISSION_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub admission_timeout: Duration,
    /// How long shutdown waits for in-flight batches to be confirmed and acked.
    #[arg(long, env = "INGEST_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

/// librdkafka's upper bound for `linger.ms`.
const MAX_LINGER: Duration = Duration::from_secs(900);

impl Limits {
    /// Rejects settings that cannot work, naming the flag, before anything starts.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.min_celsius.is_finite() && self.max_celsius.is_finite())
            || self.min_celsius > self.max_celsius
        {
            return Err(format!(
                "--min-celsius {} must be finite and not above --max-celsius {}",
                self.min_celsius, self.max_celsius
            ));
        }
        if self.max_batch_size == 0 || self.max_in_flight_batches == 0 {
            return Err("--max-batch-size and --max-in-flight-batches must be at least 1".into());
        }
        if self.kafka_linger > MAX_LINGER {
            return Err(format!(
                "--kafka-linger {:?} is longer than librdkafka allows (900s)",
                self.kafka_linger
            ));
        }
        if self.max_in_flight_readings < self.max_batch_size {
            return Err(format!(
                "--max-in-flight-readings {} must be at least --max-batch-size {}, or a full batch never fits",
                self.max_in_flight_readings, self.max_batch_size
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(args: &[&str]) -> Limits {
        Config::parse_from(["ingest"].iter().chain(args)).limits
    }

    #[test]
    fn defaults_are_valid() {
        let l = limits(&[]);
        assert_eq!((l.min_celsius, l.max_celsius), (-90.0, 150.0));
        assert_eq!(l.max_future_skew, Duration::from_secs(300));
        assert_eq!(l.admission_timeout, Duration::from_secs(5));
        assert_eq!(l.validate(), Ok(()));
    }

    #[test]
    fn the_linger_takes_microseconds_and_refuses_what_librdkafka_cannot() {
        assert_eq!(limits(&[]).kafka_linger, Duration::ZERO);
        assert_eq!(
            limits(&["--kafka-linger", "500us"]).kafka_linger,
            Duration::from_micros(500)
        );
        let err = limits(&["--kafka-linger", "16m"]).validate().unwrap_err();
        assert!(err.contains("--kafka-linger"), "{err}");
        let err = Config::try_parse_from(["ingest", "--kafka-linger", "soon"]).unwrap_err();
        assert!(err.to_string().contains("--kafka-linger"), "{err}");
    }

    #[test]
    fn impossible_settings_name_the_flag() {
        let err = limits(&["--min-celsius", "10", "--max-celsius", "-10"])
            .validate()
            .unwrap_err();
        assert!(err.contains("--min-celsius"), "{err}");
        let err = limits(&["--max-in-flight-readings", "10"])
            .validate()
            .unwrap_err();
        assert!(err.contains("--max-in-flight-readings"), "{err}");
    }

    #[test]
    fn durations_take_units_and_the_delivery_timeout_refuses_zero() {
        assert_eq!(
            limits(&["--delivery-timeout", "1500ms"]).delivery_timeout,
            Duration::from_millis(1500)
        );
        let err = Config::try_parse_from(["ingest", "--delivery-timeout", "0s"]).unwrap_err();
        assert!(err.to_string().contains("--delivery-timeout"), "{err}");
        let err = Config::try_parse_from(["ingest", "--admission-timeout", "5000"]).unwrap_err();
        assert!(err.to_string().contains("--admission-timeout"), "{err}");
    }
}
