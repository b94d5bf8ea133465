//! Records the saver cannot store go to the dead-letter topic, unchanged, with headers naming the
//! error and where they came from, so no record can stop its partition and none vanishes.

use std::time::Duration;

use rdkafka::{
    error::KafkaError,
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use sensorpipe::kafka;

/// Why a record was dead-lettered; also the `kind` label of the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not a `ReadingRecord` at all.
    Decode,
    /// A `ReadingRecord` the table cannot hold (bad sensor id, NaN, missing timestamp).
    Invalid,
    /// Refused by PostgreSQL itself.
    Database,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decode => "decode",
            Self::Invalid => "invalid",
            Self::Database => "database",
        }
    }
}

/// One record to dead-letter, with its origin.
pub struct DeadLetter<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub partition: i32,
    pub offset: i64,
    pub kind: Kind,
    pub error: String,
}

pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    source_topic: String,
}

impl DeadLetters {
    pub fn new(brokers: &str, topic: &str, source_topic: &str) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: kafka::create_producer(brokers)?,
            topic: topic.to_owned(),
            source_topic: source_topic.to_owned(),
        })
    }

    /// Sends every letter and returns once Kafka confirmed them all, or with the first failure
    /// (the caller retries the whole batch; a letter sent twice is harmless).
    pub async fn send(&self, letters: &[DeadLetter<'_>]) -> Result<(), KafkaError> {
        let mut deliveries = Vec::with_capacity(letters.len());
        for letter in letters {
            let partition = letter.partition.to_string();
            let offset = letter.offset.to_string();
            let headers = OwnedHeaders::new()
                .insert(header("sensorpipe.error", &letter.error))
                .insert(header("sensorpipe.error.kind", letter.kind.as_str()))
                .insert(header("sensorpipe.source.topic", &self.source_topic))
                .insert(header("sensorpipe.source.partition", &partition))
                .insert(header("sensorpipe.source.offset", &offset));
            let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
            if let Some(key) = letter.key {
                record = record.key(key);
            }
            if let Some(value) = letter.value {
                record = record.payload(value);
            }
            deliveries.push(self.producer.send(record, Duration::from_secs(5)));
        }
        for delivery in deliveries {
            delivery.await.map_err(|(error, _)| error)?;
        }
        Ok(())
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
