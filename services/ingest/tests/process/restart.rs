//! Ingest is killed (SIGKILL) in the middle of a stream and started again on the same port: the
//! generator reconnects, resends what was not acked, and the topic holds every reading at least
//! once; the generator reports nothing lost.

use crate::helpers::{assert_nothing_lost, spawn_generator, start_ingest};

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
    let records = assert_nothing_lost(&summary, COUNT, &brokers, &topic).await;
    assert!(
        second.metric("ingest_readings_acked_total").await > 0.0,
        "the second ingest took over"
    );
    println!("{records} records for {COUNT} readings after the crash ({summary:?})");
}
