//! Starts the ingest binary, runs the real generator against it, checks nothing was lost.

use std::{
    collections::HashSet,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use clap::Parser;
use testkit::ServiceProcess;

/// The ingest binary on `port` (0 picks a free one), publishing to `topic`, once it answers HTTP;
/// `args` are extra flags.
pub async fn start_ingest(port: u16, brokers: &str, topic: &str, args: &[&str]) -> ServiceProcess {
    let base = ["--kafka-brokers", brokers, "--kafka-topic", topic];
    let open = testkit::auth::open_unless_tokens(args);
    let args: Vec<&str> = base.iter().chain(args).chain(&open).copied().collect();
    ServiceProcess::start(env!("CARGO_BIN_EXE_ingest"), port, &args).await
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A run that lived through an outage: the generator reports it delivered all `count` readings
/// after reconnecting at least once, and the topic holds every one at least once. Returns how
/// many records the topic holds (resent batches may repeat readings).
pub async fn assert_nothing_lost(
    summary: &generator::Summary,
    count: u64,
    brokers: &str,
    topic: &str,
) -> usize {
    assert!(summary.is_success(), "{summary}");
    assert_eq!(
        (summary.accepted, summary.undelivered),
        (count, 0),
        "{summary}"
    );
    assert!(
        summary.reconnects >= 1,
        "the outage ended the stream: {summary}"
    );
    let stored = testkit::read_topic(brokers, topic).await;
    let identities: HashSet<(String, i64)> = stored.iter().map(|s| s.identity()).collect();
    assert_eq!(
        identities.len() as u64,
        count,
        "every reading at least once, none missing"
    );
    stored.len()
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
