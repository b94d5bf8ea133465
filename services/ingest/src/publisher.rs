//! Publishing to Kafka with the durability promise: a batch counts as published only when Kafka
//! confirmed every record of it (`acks=all`, idempotent producer). Also the global bound on
//! readings in flight, which keeps memory bounded however many callers send at once.

use std::{sync::Arc, time::Duration};

use rdkafka::{
    error::KafkaError,
    producer::{FutureProducer, Producer},
};
use sensorpipe::{
    config::KafkaArgs,
    kafka::{self, AuthenticationWatch},
    proto::v1::ReadingRecord,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Limits;

pub struct Publisher {
    producer: FutureProducer<AuthenticationWatch>,
    topic: String,
    /// What the producer saw of Kafka refusing its credentials.
    authentication: AuthenticationWatch,
    /// `--kafka-config-file`, named when Kafka refuses its credentials.
    config_file: Option<String>,
    /// One permit per reading in flight, over every stream and call.
    capacity: Arc<Semaphore>,
}

impl Publisher {
    pub fn new(kafka: &KafkaArgs, limits: &Limits) -> Result<Self, KafkaError> {
        let authentication = AuthenticationWatch::default();
        let producer = kafka::producer_config(kafka)
            // A delivery Kafka cannot confirm in this time fails, and with it the batch.
            .set(
                "message.timeout.ms",
                limits.delivery_timeout.as_millis().to_string(),
            )
            // Overrides the shared config's linger; librdkafka takes fractions of a millisecond.
            .set(
                "linger.ms",
                format!("{}", limits.kafka_linger.as_secs_f64() * 1e3),
            )
            // Our own bound (`capacity`) is the real limit; librdkafka's queue must never be
            // the one that fills up.
            .set(
                "queue.buffering.max.messages",
                (limits.max_in_flight_readings * 2).to_string(),
            )
            .create_with_context(authentication.clone())?;
        Ok(Self {
            authentication,
            producer,
            topic: kafka.kafka_topic.clone(),
            config_file: kafka
                .kafka_config_file
                .as_ref()
                .map(|file| file.path().display().to_string()),
            capacity: Arc::new(Semaphore::new(limits.max_in_flight_readings)),
        })
    }

    /// Waits until `readings` more may be in flight; the room is given back when the permit drops.
    pub async fn reserve(&self, readings: usize) -> OwnedSemaphorePermit {
        self.capacity
            .clone()
            .acquire_many_owned(readings as u32)
            .await
            .expect("the semaphore is never closed")
    }

    /// Sends every record and returns once Kafka confirmed all of them, or
    /// with the first failure. A failed batch may be partly in Kafka: the caller resends it and
    /// the `(sensor_id, measured_at)` identity makes the second copy harmless.
    pub async fn publish(&self, records: &[ReadingRecord]) -> Result<(), KafkaError> {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            let value = kafka::encode_record(record);
            let delivery = self
                .producer
                .send_result(kafka::reading_record(&self.topic, record, &value))
                .map_err(|(error, _)| error)?;
            deliveries.push(delivery);
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(error),
                Err(_canceled) => return Err(KafkaError::Canceled),
            }
        }
        Ok(())
    }

    /// Checks at start-up that the topic exists, so a misconfiguration fails at once instead of
    /// as delivery timeouts. An unreachable broker is only a warning: Kafka may come later, and
    /// until then batches wait and fail with UNAVAILABLE. A broker that refused the credentials
    /// will not change its mind: that fails too.
    pub async fn check_topic(&self) -> Result<(), String> {
        let producer = self.producer.clone();
        let topic = self.topic.clone();
        let config_file = self.config_file.clone();
        let authentication = self.authentication.clone();
        tokio::task::spawn_blocking(move || {
            let metadata = producer
                .client()
                .fetch_metadata(Some(&topic), Duration::from_secs(5));
            if let Some(reason) = authentication.refusal() {
                let file = config_file.as_deref().unwrap_or("no --kafka-config-file");
                return Err(format!("Kafka refused the credentials of {file}: {reason}"));
            }
            match metadata {
                Ok(metadata) => match metadata.topics().first() {
                    Some(t) if t.error().is_none() && !t.partitions().is_empty() => Ok(()),
                    _ => Err(format!(
                        "Kafka topic {topic} does not exist (scripts/stack start creates it)"
                    )),
                },
                Err(error) => {
                    tracing::warn!(%error, %topic, "Kafka not reachable yet; batches wait for it");
                    Ok(())
                }
            }
        })
        .await
        .expect("metadata check panicked")
    }

    /// Waits for everything still queued to be confirmed, at shutdown.
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer.flush(timeout) {
            tracing::warn!(%error, "producer queue not empty at exit");
        }
    }
}
