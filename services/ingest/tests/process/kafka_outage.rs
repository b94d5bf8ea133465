//! Kafka stops in the middle of a run: while it is down ingest acknowledges nothing (an ack means
//! durable), batches fail with UNAVAILABLE, and once Kafka is back the generator's resends
//! complete the run with nothing missing.

use std::time::Duration;

use testkit::PrivateKafka;

use crate::helpers::{assert_nothing_lost, spawn_generator, start_ingest};

const COUNT: u64 = 60_000;

#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_acked_while_kafka_is_down_and_nothing_is_lost() {
    let kafka = PrivateKafka::start().await;
    let brokers = kafka.brokers();
    let ingest = start_ingest(0, &brokers, "temperatures", &["--delivery-timeout", "2s"]).await;
    let count = COUNT.to_string();
    let run = spawn_generator(
        ingest.port,
        &[
            "--rate",
            "6000",
            "--count",
            &count,
            "--sensors",
            "60",
            "--batch-size",
            "300",
        ],
    );
    ingest
        .wait_for_metric("ingest_readings_acked_total", 6_000.0)
        .await;

    kafka.stop().await;
    let acked_when_stopped = ingest.metric("ingest_readings_acked_total").await;
    // Absence can only be watched for a while: three delivery deadlines.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        ingest.metric("ingest_readings_acked_total").await,
        acked_when_stopped,
        "an ack while Kafka was down would be an ack from memory"
    );
    assert!(
        ingest
            .metric("ingest_batches_refused_total{cause=\"kafka_unavailable\"}")
            .await
            > 0.0,
        "batches fail while Kafka is down"
    );

    kafka.start_again().await;
    // The failed batches ended the stream.
    let summary = run.await.unwrap();
    let records = assert_nothing_lost(&summary, COUNT, &brokers, "temperatures").await;
    println!(
        "{records} records for {COUNT} readings ({} resent batches, {} reconnects)",
        summary.resent_batches, summary.reconnects
    );
}
