//! Ingest is killed (SIGKILL) in the middle of a stream and started again on the same port: the
//! generator reconnects, resends what was not acked, and the topic holds every reading at least
//! once; the generator reports nothing lost.

use std::collections::HashSet;

use crate::helpers::{spawn_generator, start_ingest};

const COUNT: u64 = 50_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_generator_survives_an_ingest_crash_without_losing_a_reading() {
    let (brokers, topic) = testkit::fresh_topic("restart", 3).await;
    let first = start_ingest(0, &brokers, &topic, &[]).await;
    let port = first.port;
    let count = COUNT.to_string();
    let run = spawn_generator(
        port,
        &["--rate", "10000", "--count", &count, "--sensors", "50"],
    );
    first
        .wait_for_metric("ingest_readings_acked_total", 10_000.0)
        .await;

    first.kill();
    let second = start_ingest(port, &brokers, &topic, &[]).await;

    let summary = run.await.unwrap();
    assert!(summary.is_success(), "{summary}");
    assert_eq!(
        (summary.accepted, summary.undelivered),
        (COUNT, 0),
        "{summary}"
    );
    assert!(summary.reconnects >= 1, "{summary}");

    let stored = testkit::read_topic(&brokers, &topic).await;
    let identities: HashSet<(String, i64)> = stored.iter().map(|s| s.identity()).collect();
    assert_eq!(
        identities.len() as u64,
        COUNT,
        "every reading at least once"
    );
    assert!(
        second.metric("ingest_readings_acked_total").await > 0.0,
        "the second ingest took over"
    );
    println!(
        "{} records for {COUNT} readings after the crash ({summary:?})",
        stored.len()
    );
}
