//! `PrivateKafka` does what outage tests of the ingest path need: while the broker is stopped a
//! publish is not acked (it fails), after `start_again` the same producer publishes again, and
//! the topic holds exactly the acked records: the one from before the stop survived the restart,
//! the failed one is not there. Dropping it leaves no broker and no folder behind.

use std::{
    net::TcpStream,
    time::{Duration, Instant},
};

use prost_types::Timestamp;
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
    error::{KafkaError, RDKafkaErrorCode},
    producer::FutureProducer,
};
use sensorpipe::{kafka, proto::v1::ReadingRecord};
use testkit::PrivateKafka;

fn reading(sensor: &str, seconds: i64) -> ReadingRecord {
    ReadingRecord {
        sensor_id: sensor.to_owned(),
        measured_at: Some(Timestamp { seconds, nanos: 0 }),
        celsius: 21.5,
        ingested_at: Some(Timestamp { seconds, nanos: 0 }),
    }
}

#[tokio::test]
async fn broker_stops_and_comes_back_with_its_records() {
    let t = Instant::now();
    let kafka = PrivateKafka::start().await;
    let start_took = t.elapsed();
    let brokers = kafka.brokers();
    let topic = testkit::unique_name("private");
    kafka::create_topic(&brokers, &topic, 1).await.unwrap();
    // One producer for the whole outage, as a service has: it must recover by itself.
    // Its reconnect backoff is capped low: by default it grows to 10 s while the broker is down,
    // and the first publish after the restart would wait out most of it (and time out).
    let producer: FutureProducer = kafka::producer_config(&brokers)
        .set("message.timeout.ms", "3000")
        .set("reconnect.backoff.max.ms", "500")
        .create()
        .unwrap();
    let queue_timeout = Duration::from_secs(5);

    let before = reading("before-stop", 1);
    kafka::publish(&producer, &topic, &before, queue_timeout)
        .await
        .expect("acked while the broker runs");

    let t = Instant::now();
    kafka.stop().await;
    let stop_took = t.elapsed();
    assert!(
        TcpStream::connect(&brokers).is_err(),
        "nothing listens on {brokers} after stop"
    );

    let t = Instant::now();
    let error = kafka::publish(
        &producer,
        &topic,
        &reading("while-stopped", 2),
        queue_timeout,
    )
    .await
    .expect_err("no ack while the broker is stopped");
    let failed_after = t.elapsed();
    assert!(
        matches!(
            error,
            KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
        ),
        "the publish times out (message.timeout.ms): {error}"
    );

    let t = Instant::now();
    kafka.start_again().await;
    let start_again_took = t.elapsed();

    let after = reading("after-restart", 3);
    let t = Instant::now();
    kafka::publish(&producer, &topic, &after, queue_timeout)
        .await
        .expect("the same producer is acked again after the restart");
    let first_ack_after = t.elapsed();

    // Read the partition from the start: the records acked before and after the restart, in
    // that order, and nothing else (the timed-out one never reached the log).
    let consumer: StreamConsumer = kafka::consumer_config(&brokers, &testkit::unique_name("group"))
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut received = Vec::new();
    while received.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("records arrive within 30 s")
            .unwrap();
        received.push(kafka::decode_record(message.payload().unwrap()).unwrap());
    }
    assert_eq!(received, vec![before, after]);
    let (low, high) = consumer
        .fetch_watermarks(&topic, 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!((low, high), (0, 2), "exactly the two acked records");
    drop(consumer);
    drop(producer);

    let dir = kafka.dir().to_path_buf();
    let t = Instant::now();
    drop(kafka);
    let drop_took = t.elapsed();
    assert!(!dir.exists(), "{} removed on drop", dir.display());
    assert!(
        TcpStream::connect(&brokers).is_err(),
        "no broker on {brokers} after drop"
    );

    eprintln!(
        "PrivateKafka timings: start {start_took:.1?}, stop {stop_took:.1?}, publish failed after \
         {failed_after:.1?}, start_again {start_again_took:.1?}, first ack after restart \
         {first_ack_after:.1?}, drop {drop_took:.1?}"
    );
}
