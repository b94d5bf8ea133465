//! What the tests across services share: each service started in-process on port 0 and pointed at
//! the test's own topic, group or database, the real generator run against ingest, and the
//! dashboard's browser scenarios ([`browser`]). Each test binary uses part of it.
#![allow(dead_code)]

pub mod browser;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use generator::signal::{Signal, SignalConfig};
use testkit::{LISTEN_ON_PORT_0, RunningService};

/// Ingest publishing to `topic`; `args` are extra flags.
pub async fn start_ingest(
    brokers: &str,
    topic: &str,
    args: &[&str],
) -> RunningService<ingest::Application> {
    let base = ["--kafka-brokers", brokers, "--kafka-topic", topic];
    RunningService::start_on_port_0(&base, args).await
}

/// A saver consuming `topic` in its own group `group` into `database_url`; `args` are extra
/// flags.
pub async fn start_saver(
    brokers: &str,
    topic: &str,
    group: &str,
    database_url: &str,
    args: &[&str],
) -> RunningService<saver::Application> {
    let base = [
        "--kafka-brokers",
        brokers,
        "--kafka-topic",
        topic,
        "--group-id",
        group,
        "--database-url",
        database_url,
    ];
    RunningService::start_with_args(LISTEN_ON_PORT_0.iter().chain(&base).chain(args)).await
}

/// Admin reading `database_url`; `args` are extra flags.
pub async fn start_admin(database_url: &str, args: &[&str]) -> RunningService<admin::Application> {
    start_admin_at(LISTEN_ON_PORT_0[1], database_url, args).await
}

/// Admin on `listen_addr` (a fixed port, to restart it where its clients expect it) reading
/// `database_url`; `args` are extra flags.
pub async fn start_admin_at(
    listen_addr: &str,
    database_url: &str,
    args: &[&str],
) -> RunningService<admin::Application> {
    let base = ["--listen-addr", listen_addr, "--database-url", database_url];
    let open = testkit::auth::open_unless_tokens(args);
    RunningService::start_with_args(base.iter().chain(args).chain(&open)).await
}

/// The generator sending to `url`, giving up within 30 s if ingest is gone; `args` are extra
/// flags.
pub fn generator_config(url: &str, args: &[&str]) -> generator::Config {
    let base = [
        "generator",
        "--ingest-url",
        url,
        "--shutdown-grace",
        "5s",
        "--give-up-after",
        "30s",
    ];
    generator::Config::try_parse_from(base.iter().chain(args)).expect("valid generator flags")
}

/// Runs the generator to its end (at most 5 minutes).
pub async fn run_generator(config: generator::Config) -> generator::Summary {
    tokio::time::timeout(
        Duration::from_secs(300),
        generator::run(config, std::future::pending()),
    )
    .await
    .expect("the generator finishes within 5 minutes")
    .expect("the generator runs")
}

/// A generator run the test can replay exactly: unpaced, `count` readings of `sensors` sensors
/// from `seed`, a `bad_rate` of them broken on purpose, measured from a whole second an hour back
/// (so every reading lies in the past).
pub struct Replayable {
    pub count: u64,
    pub sensors: u32,
    pub seed: u64,
    pub bad_rate: f64,
    start_us: i64,
}

impl Replayable {
    pub fn new(count: u64, sensors: u32, seed: u64, bad_rate: f64) -> Self {
        let start_us = (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 3600)
            * 1_000_000;
        Self {
            count,
            sensors,
            seed,
            bad_rate,
            start_us,
        }
    }

    /// The run against `url`, `batch_size` readings per batch.
    pub fn config(&self, url: &str, batch_size: usize) -> generator::Config {
        let start = chrono::DateTime::<chrono::Utc>::from(
            UNIX_EPOCH + Duration::from_micros(self.start_us as u64),
        )
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let (count, sensors, seed) = (
            self.count.to_string(),
            self.sensors.to_string(),
            self.seed.to_string(),
        );
        let (batch_size, bad_rate) = (batch_size.to_string(), self.bad_rate.to_string());
        generator_config(
            url,
            &[
                "--rate",
                "0",
                "--count",
                &count,
                "--sensors",
                &sensors,
                "--batch-size",
                &batch_size,
                "--seed",
                &seed,
                "--start",
                &start,
                "--bad-rate",
                &bad_rate,
            ],
        )
    }

    /// What the run makes, reading by reading: the generator's own signal from the same seed and
    /// start.
    pub fn signal(&self) -> Signal {
        Signal::new(SignalConfig {
            sensors: self.sensors,
            seed: self.seed,
            start_us: self.start_us,
            interval_us: generator::Timeline::starting_at(self.start_us).interval_us,
            bad_rate: self.bad_rate,
        })
    }
}
