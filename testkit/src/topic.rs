//! Reading a whole test topic back, to compare it with what was sent.

use std::time::Duration;

use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
    message::BorrowedMessage,
};

use sensorpipe::{kafka, proto::v1::ReadingRecord};

use crate::unique_name;

/// A record read back from a topic, with where it was.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub key: String,
    pub partition: i32,
    pub offset: i64,
    pub record: ReadingRecord,
}

impl StoredRecord {
    /// `(sensor_id, measured_at)` in whole microseconds: the reading's identity.
    pub fn identity(&self) -> (String, i64) {
        let at = self.record.measured_at.expect("records carry measured_at");
        (
            self.record.sensor_id.clone(),
            at.seconds * 1_000_000 + i64::from(at.nanos / 1_000),
        )
    }
}

/// Every record of `topic`, in partition order, read in a fresh consumer group. The high
/// watermarks say how many there are (test topics are fresh and nothing is deleted), so
/// "exactly these and no more" needs no waiting for stragglers.
pub async fn read_topic(brokers: &str, topic: &str) -> Vec<StoredRecord> {
    read_all(brokers, topic, |message| StoredRecord {
        key: String::from_utf8(message.key().expect("keyed").to_vec()).expect("UTF-8 key"),
        partition: message.partition(),
        offset: message.offset(),
        record: kafka::decode_record(message.payload().expect("a value")).expect("a ReadingRecord"),
    })
    .await
}

/// Every record of `topic`, each as `read` makes it, read as [`read_topic`] says.
async fn read_all<T>(
    brokers: &str,
    topic: &str,
    read: impl Fn(&BorrowedMessage<'_>) -> T,
) -> Vec<T> {
    let consumer: StreamConsumer =
        kafka::create_consumer(brokers, &unique_name("reader")).expect("a consumer can be created");
    let total = total_records(&consumer, topic);
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut records = Vec::with_capacity(total as usize);
    while (records.len() as i64) < total {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("the topic's records arrive within 30 s")
            .expect("a record");
        records.push(read(&message));
    }
    records
}

fn total_records(consumer: &StreamConsumer, topic: &str) -> i64 {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("topic metadata");
    metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (low, high) = consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .expect("watermarks");
            high - low
        })
        .sum()
}

/// A record as bytes, with its headers: for topics that hold more than readings (dead letters).
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub partition: i32,
    pub offset: i64,
    pub headers: std::collections::HashMap<String, String>,
}

/// Every record of `topic` as bytes and headers, read like [`read_topic`].
pub async fn read_topic_raw(brokers: &str, topic: &str) -> Vec<RawRecord> {
    use rdkafka::message::Headers;

    read_all(brokers, topic, |message| {
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        let value = h.value.map(|v| String::from_utf8_lossy(v).into_owned());
                        (h.key.to_owned(), value.unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default();
        RawRecord {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().unwrap_or_default().to_vec(),
            partition: message.partition(),
            offset: message.offset(),
            headers,
        }
    })
    .await
}
