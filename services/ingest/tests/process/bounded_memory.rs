//! A sender far faster than Kafka: ingest reads the stream only as fast as Kafka confirms, its
//! memory stays bounded however much the client has queued, and every ack it gives is true: each
//! acked reading is in the topic.

use std::{collections::HashSet, time::Duration};

use prost_types::Timestamp;
use sensorpipe::proto::v1::{Reading, ReadingBatch, ingest_service_client::IngestServiceClient};
use tokio_stream::StreamExt;

use crate::helpers::{now_secs, start_ingest};

const BATCHES: u64 = 1_000;
const PER_BATCH: u64 = 1_000;
/// The design's memory budget per service. The limits below hold at most 20,000 readings (about
/// 2 MB of records); buffering the million the client has queued would need far more.
const RSS_LIMIT_KB: u64 = 64 * 1024;

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Reading number `n`: one of 97 sensors, a microsecond of its own, an hour ago.
fn reading(n: u64) -> Reading {
    Reading {
        sensor_id: format!("fast-{}", n % 97),
        measured_at: Some(Timestamp {
            seconds: now_secs() - 3600 + (n / 1_000_000) as i64,
            nanos: ((n % 1_000_000) * 1000) as i32,
        }),
        celsius: 20.0,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fast_sender_gets_backpressure_not_buffering_and_only_true_acks() {
    let (brokers, topic) = testkit::fresh_topic("bounded", 3).await;
    let limits = [
        "--max-in-flight-batches",
        "4",
        "--max-in-flight-readings",
        "20000",
    ];
    let ingest = start_ingest(0, &brokers, &topic, &limits).await;
    let mut client = IngestServiceClient::connect(ingest.url("")).await.unwrap();

    // The whole million is ready to go: only flow control keeps it out of the service.
    let batches: Vec<ReadingBatch> = (1..=BATCHES)
        .map(|sequence| ReadingBatch {
            sequence,
            readings: (0..PER_BATCH)
                .map(|i| reading(sequence * PER_BATCH + i))
                .collect(),
        })
        .collect();
    let mut acks = client
        .stream_readings(tokio_stream::iter(batches.clone()))
        .await
        .unwrap()
        .into_inner();

    let mut peak_kb = 0;
    let mut acked = HashSet::new();
    let mut sampler = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            ack = acks.next() => match ack {
                Some(ack) => {
                    let ack = ack.expect("no error while Kafka is up");
                    assert_eq!(ack.accepted as u64, PER_BATCH);
                    assert!(acked.insert(ack.sequence), "one ack per batch");
                }
                None => break,
            },
            _ = sampler.tick() => peak_kb = peak_kb.max(rss_kb(ingest.pid())),
        }
    }
    assert_eq!(acked.len() as u64, BATCHES, "every batch acked");
    println!(
        "ingest peak RSS {} MB for {} readings",
        peak_kb / 1024,
        BATCHES * PER_BATCH
    );
    assert!(peak_kb < RSS_LIMIT_KB, "ingest RSS peaked at {peak_kb} kB");
    assert!(ingest.metric("ingest_in_flight_readings").await <= 20_000.0);

    let stored = testkit::read_topic(&brokers, &topic).await;
    let identities: HashSet<(String, i64)> = stored.iter().map(|s| s.identity()).collect();
    for batch in &batches {
        for r in &batch.readings {
            let at = r.measured_at.unwrap();
            let micros = at.seconds * 1_000_000 + i64::from(at.nanos / 1000);
            assert!(
                identities.contains(&(r.sensor_id.clone(), micros)),
                "acked reading {r:?} is not in Kafka"
            );
        }
    }
}
