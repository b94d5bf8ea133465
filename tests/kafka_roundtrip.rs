//! A real round trip through the local Kafka: publish a reading with the project's producer
//! (idempotent, `acks=all`, keyed by sensor id), read it back in a fresh consumer group.

use std::time::Duration;

use prost_types::Timestamp;
use rdkafka::{
    Message,
    consumer::{CommitMode, Consumer},
};
use sensorpipe::{kafka, proto::v1::ReadingRecord};

#[tokio::test]
async fn reading_round_trips_through_kafka_keyed_by_sensor() {
    let (brokers, topic) = testkit::fresh_topic("roundtrip", 3).await;
    let producer = kafka::create_producer(&brokers).unwrap();
    let sent: Vec<ReadingRecord> = (0..10)
        .map(|i| ReadingRecord {
            sensor_id: format!("sensor-{}", i % 4),
            measured_at: Some(Timestamp {
                seconds: 1_700_000_000 + i,
                nanos: 250_000,
            }),
            celsius: 20.0 + i as f64 / 8.0,
            ingested_at: Some(Timestamp {
                seconds: 1_700_000_100 + i,
                nanos: 0,
            }),
        })
        .collect();
    let mut partition_of = std::collections::HashMap::new();
    for record in &sent {
        let delivery = kafka::publish(&producer, &topic, record, Duration::from_secs(5))
            .await
            .expect("delivery confirmed");
        // Same key, same partition: per-sensor order is kept.
        let previous = partition_of.insert(record.sensor_id.clone(), delivery.partition);
        assert!(previous.is_none_or(|p| p == delivery.partition));
    }

    let consumer = kafka::create_consumer(&brokers, &testkit::unique_name("group")).unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let mut received = Vec::new();
    while received.len() < sent.len() {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("records arrive within 30 s")
            .unwrap();
        let record = kafka::decode_record(message.payload().unwrap()).unwrap();
        assert_eq!(
            message.key(),
            Some(record.sensor_id.as_bytes()),
            "key = sensor id"
        );
        assert_eq!(message.partition(), partition_of[&record.sensor_id]);
        consumer.store_offset_from_message(&message).unwrap();
        received.push(record);
    }
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();

    let key = |r: &ReadingRecord| (r.sensor_id.clone(), r.measured_at.unwrap().seconds);
    received.sort_by_key(key);
    let mut expected = sent.clone();
    expected.sort_by_key(key);
    assert_eq!(received, expected, "every field equal, each record once");
}

#[test]
fn garbage_is_not_a_record() {
    assert!(kafka::decode_record(&[0xff, 0xff, 0xff]).is_err());
}
