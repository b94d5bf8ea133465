//! `StreamReadings`: many batches over one stream, an ack per batch repeating its sequence, the
//! same per-reading rejects as the unary call, and bad batches ending the stream only after every
//! earlier batch was answered.

use std::collections::BTreeMap;

use sensorpipe::proto::v1::{BatchAck, ReadingBatch};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::{
    helpers::{TestApp, by_identity, good},
    unary::{assert_mixed_batch_outcome, mixed_batch},
};

#[tokio::test]
async fn every_batch_is_acked_once_and_every_reading_is_in_kafka_once() {
    let app = TestApp::spawn(&["--max-in-flight-batches", "4"]).await;
    let batches: Vec<ReadingBatch> = (1..=50u64)
        .map(|sequence| ReadingBatch {
            sequence,
            readings: (0..200)
                .map(|i| {
                    good(
                        &format!("sensor-{}", i % 7),
                        20_000 - (sequence * 200 + i) as i64,
                        20.0,
                    )
                })
                .collect(),
        })
        .collect();
    let response = app
        .client()
        .await
        .stream_readings(tokio_stream::iter(batches.clone()))
        .await
        .unwrap();
    let mut acks: BTreeMap<u64, BatchAck> = BTreeMap::new();
    let mut inbound = response.into_inner();
    while let Some(ack) = inbound.next().await {
        let ack = ack.expect("no error on a clean stream");
        assert!(
            acks.insert(ack.sequence, ack).is_none(),
            "one ack per batch"
        );
    }
    assert_eq!(
        acks.keys().copied().collect::<Vec<_>>(),
        (1..=50).collect::<Vec<_>>()
    );
    assert!(
        acks.values()
            .all(|a| a.accepted == 200 && a.rejects.is_empty())
    );

    let stored = app.stored().await;
    assert_eq!(stored.len(), 50 * 200);
    assert_eq!(
        by_identity(&stored).len(),
        stored.len(),
        "each reading once"
    );
    // Per-sensor order is kept: in its partition a sensor's readings appear in send order, and
    // they were sent with growing measured_at.
    let mut last: BTreeMap<&str, (i32, i64)> = BTreeMap::new();
    for s in &stored {
        let at = s.record.measured_at.unwrap().seconds;
        if let Some((partition, previous)) = last.insert(&s.key, (s.partition, at)) {
            assert_eq!(partition, s.partition, "one sensor, one partition");
            assert!(at > previous, "{}: {at} after {previous}", s.key);
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_stream_rejects_per_reading_like_the_unary_call() {
    let app = TestApp::spawn(&[]).await;
    let (readings, _) = mixed_batch();
    let batch = ReadingBatch {
        sequence: 9,
        readings: readings.clone(),
    };
    let mut acks = app
        .client()
        .await
        .stream_readings(tokio_stream::iter([batch]))
        .await
        .unwrap()
        .into_inner();
    let ack = acks.next().await.unwrap().unwrap();
    assert_eq!(ack.sequence, 9);
    assert!(acks.next().await.is_none(), "the stream ends cleanly");
    assert_mixed_batch_outcome(&app, &ack, &readings).await;
    app.stop().await;
}

#[tokio::test]
async fn an_empty_batch_ends_the_stream_after_answering_the_others() {
    let app = TestApp::spawn(&[]).await;
    let batches = vec![
        ReadingBatch {
            sequence: 1,
            readings: vec![good("a", 5, 1.0)],
        },
        ReadingBatch {
            sequence: 2,
            readings: vec![],
        },
    ];
    let mut acks = app
        .client()
        .await
        .stream_readings(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    let first = acks.next().await.unwrap().expect("batch 1 is acked");
    assert_eq!((first.sequence, first.accepted), (1, 1));
    let error = acks.next().await.unwrap().unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(
        error.message().starts_with("readings:"),
        "{}",
        error.message()
    );
    assert_eq!(app.stored().await.len(), 1);
    app.stop().await;
}

/// Batch `sequence` of 100 readings of sensor `drain`, each a second of its own.
fn drain_batch(sequence: u64) -> ReadingBatch {
    let readings = (0..100)
        .map(|i| good("drain", (sequence * 100 + i) as i64, 1.0))
        .collect();
    ReadingBatch { sequence, readings }
}

#[tokio::test]
async fn shutdown_acks_what_it_read_then_ends_the_stream_with_unavailable() {
    let app = TestApp::spawn(&[]).await;
    // The client keeps its side open, as the generator does.
    let (send, requests) = tokio::sync::mpsc::channel(16);
    let mut acks = app
        .client()
        .await
        .stream_readings(tokio_stream::wrappers::ReceiverStream::new(requests))
        .await
        .unwrap()
        .into_inner();
    for sequence in 1..=5u64 {
        send.send(drain_batch(sequence)).await.unwrap();
        let ack = acks.next().await.unwrap().unwrap();
        assert_eq!(ack.sequence, sequence);
    }

    // Three more in hand, not yet answered, when the service is told to stop.
    for sequence in 6..=8u64 {
        send.send(drain_batch(sequence)).await.unwrap();
    }
    let stopped = tokio::spawn(app.stop_and_read());
    let mut acked = 5;
    let end = loop {
        match acks.next().await.expect("the stream ends with a status") {
            Ok(ack) => {
                assert_eq!(ack.accepted, 100);
                acked += 1;
            }
            Err(status) => break status,
        }
    };
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    assert!(end.message().contains("shutting down"), "{}", end.message());
    assert!(
        end.metadata().get("grpc-retry-pushback-ms").is_some(),
        "a retry hint"
    );
    let stored = stopped.await.unwrap();
    assert!(
        stored.len() >= acked * 100,
        "every acked reading is in Kafka: {} < {}",
        stored.len(),
        acked * 100
    );
    drop(send);
}
