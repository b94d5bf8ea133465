//! Records the saver cannot store go to the dead-letter topic, unchanged, with headers naming the
//! error and where they came from, so no record can stop its partition and none vanishes.

use std::time::Duration;

use rdkafka::{
    Message,
    error::KafkaError,
    message::{Header, OwnedHeaders, OwnedMessage},
    producer::{FutureProducer, FutureRecord},
};
use sensorpipe::{config::KafkaArgs, kafka};

use crate::error::{Error, Reject};

/// One record to dead-letter, and why.
pub struct DeadLetter<'a> {
    pub record: &'a OwnedMessage,
    pub reason: &'a Reject,
}

pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    source_topic: String,
}

impl DeadLetters {
    /// Dead letters of `kafka`'s topic, sent to `topic` on the same cluster.
    pub fn new(kafka: &KafkaArgs, topic: &str) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: kafka::create_producer(kafka)?,
            topic: topic.to_owned(),
            source_topic: kafka.kafka_topic.clone(),
        })
    }

    /// Sends every letter and returns once Kafka confirmed them all, or with the first failure
    /// (the caller retries the whole batch; a letter sent twice is harmless).
    pub async fn send(&self, letters: &[DeadLetter<'_>]) -> Result<(), Error> {
        let mut deliveries = Vec::with_capacity(letters.len());
        for DeadLetter {
            record: source,
            reason,
        } in letters
        {
            let error = reason.to_string();
            let partition = source.partition().to_string();
            let offset = source.offset().to_string();
            let headers = OwnedHeaders::new()
                .insert(header("sensorpipe.error", &error))
                .insert(header("sensorpipe.error.kind", reason.kind()))
                .insert(header("sensorpipe.source.topic", &self.source_topic))
                .insert(header("sensorpipe.source.partition", &partition))
                .insert(header("sensorpipe.source.offset", &offset));
            let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
            if let Some(key) = source.key() {
                record = record.key(key);
            }
            if let Some(value) = source.payload() {
                record = record.payload(value);
            }
            deliveries.push(self.producer.send(record, Duration::from_secs(5)));
        }
        for delivery in deliveries {
            delivery
                .await
                .map_err(|(error, _)| Error::DeadLetters(error))?;
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
