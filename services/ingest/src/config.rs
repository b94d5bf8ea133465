//! The ingest service's settings: flags, environment variables and defaults in one place.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser};
use sensorpipe::config::{KafkaArgs, TelemetryArgs};

/// Accepts sensor readings over gRPC and HTTP and publishes them durably to Kafka.
#[derive(Debug, Clone, Parser)]
#[command(name = "ingest", version, about)]
pub struct Config {
    /// Address for gRPC and, on the same port, HTTP (`POST /measurements`, `GET /metrics`).
    #[arg(long, env = "INGEST_LISTEN_ADDR", default_value = "127.0.0.1:50051")]
    pub listen_addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub limits: Limits,
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
    /// How far in the future `measured_at` may lie (sensor clock skew), in seconds.
    #[arg(long, env = "INGEST_MAX_FUTURE_SKEW_SECS", default_value_t = 300)]
    pub max_future_skew_secs: u64,
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
    /// How long Kafka may take to confirm a reading before its batch fails with UNAVAILABLE, in
    /// seconds (the producer's `message.timeout.ms`).
    #[arg(long, env = "INGEST_DELIVERY_TIMEOUT_SECS", default_value_t = 30)]
    pub delivery_timeout_secs: u64,
    /// How long a unary or HTTP call waits for room before RESOURCE_EXHAUSTED / 429, in ms.
    #[arg(long, env = "INGEST_ADMISSION_TIMEOUT_MS", default_value_t = 5_000)]
    pub admission_timeout_ms: u64,
    /// How long shutdown waits for in-flight batches to be confirmed and acked, in seconds.
    #[arg(long, env = "INGEST_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

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
        if self.max_in_flight_readings < self.max_batch_size {
            return Err(format!(
                "--max-in-flight-readings {} must be at least --max-batch-size {}, or a full batch never fits",
                self.max_in_flight_readings, self.max_batch_size
            ));
        }
        if self.delivery_timeout_secs == 0 {
            return Err("--delivery-timeout-secs must be at least 1".into());
        }
        Ok(())
    }

    pub fn max_future_skew(&self) -> Duration {
        Duration::from_secs(self.max_future_skew_secs)
    }

    pub fn delivery_timeout(&self) -> Duration {
        Duration::from_secs(self.delivery_timeout_secs)
    }

    pub fn admission_timeout(&self) -> Duration {
        Duration::from_millis(self.admission_timeout_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
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
        assert_eq!(l.max_future_skew(), Duration::from_secs(300));
        assert_eq!(l.validate(), Ok(()));
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
}
