//! Starts the ingest binary, runs the real generator against it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use testkit::ServiceProcess;

/// The ingest binary on `port` (0 picks a free one), publishing to `topic`, once it answers HTTP;
/// `args` are extra flags.
pub async fn start_ingest(port: u16, brokers: &str, topic: &str, args: &[&str]) -> ServiceProcess {
    let base = ["--kafka-brokers", brokers, "--kafka-topic", topic];
    let args: Vec<&str> = base.iter().chain(args).copied().collect();
    ServiceProcess::start(env!("CARGO_BIN_EXE_ingest"), port, &args).await
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Runs the real generator against `port` with `args`, in a task.
pub fn spawn_generator(port: u16, args: &[&str]) -> tokio::task::JoinHandle<generator::Summary> {
    let url = format!("http://127.0.0.1:{port}");
    let base = [
        "generator",
        "--ingest-url",
        &url,
        "--give-up-after",
        "60s",
        "--shutdown-grace",
        "5s",
    ];
    let config =
        generator::Config::try_parse_from(base.iter().chain(args)).expect("generator flags");
    tokio::spawn(async move {
        tokio::time::timeout(
            Duration::from_secs(240),
            generator::run(config, std::future::pending()),
        )
        .await
        .expect("the generator finishes within 4 minutes")
        .expect("the generator runs")
    })
}
