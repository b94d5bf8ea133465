//! One batch's way through ingest, the same for the stream, the unary call and HTTP: validate each
//! reading, publish the valid ones, and build the ack only after Kafka confirmed them all.

use std::time::{Duration, Instant, SystemTime};

use prost_types::Timestamp;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sensorpipe::{
    auth::Principal,
    proto::v1::{BatchAck, Reading, ReadingRecord, ReadingReject},
};

use crate::{config::Limits, error::IngestError, metrics, publisher::Publisher, validate::Rules};

/// How long a batch may wait for room among the readings in flight.
#[derive(Debug, Clone, Copy)]
pub enum Admission {
    /// As long as it takes: a stream that waits is not read, and HTTP/2 flow control slows the
    /// sender. Used by `StreamReadings`.
    Wait,
    /// At most this long, then RESOURCE_EXHAUSTED: a unary or HTTP caller gets an answer.
    Within(Duration),
}

pub struct Ingestor {
    rules: Rules,
    max_batch_size: usize,
    delivery_timeout: Duration,
    publisher: Publisher,
}

impl Ingestor {
    pub fn new(limits: &Limits, publisher: Publisher) -> Self {
        Self {
            rules: Rules::from(limits),
            max_batch_size: limits.max_batch_size,
            delivery_timeout: limits.delivery_timeout,
            publisher,
        }
    }

    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Validates, publishes and acknowledges one batch of `caller`'s. `sequence` is echoed in
    /// the ack.
    pub async fn ingest(
        &self,
        sequence: u64,
        readings: Vec<Reading>,
        caller: &Principal,
        admission: Admission,
    ) -> Result<BatchAck, IngestError> {
        let result = self.try_ingest(sequence, readings, caller, admission).await;
        if let Err(error) = &result {
            error.record();
        }
        result
    }

    async fn try_ingest(
        &self,
        sequence: u64,
        readings: Vec<Reading>,
        caller: &Principal,
        admission: Admission,
    ) -> Result<BatchAck, IngestError> {
        let arrived = Instant::now();
        match readings.len() {
            0 => return Err(IngestError::EmptyBatch),
            len if len > self.max_batch_size => {
                return Err(IngestError::BatchTooLarge {
                    len,
                    max: self.max_batch_size,
                });
            }
            len => metrics::READINGS_RECEIVED.inc_by(len as u64),
        }
        let (records, rejects) = self.validate(readings, caller);
        let accepted = records.len();
        if accepted > 0 {
            let permit = match admission {
                Admission::Wait => self.publisher.reserve(accepted).await,
                Admission::Within(limit) => {
                    tokio::time::timeout(limit, self.publisher.reserve(accepted))
                        .await
                        .map_err(|_| IngestError::Overloaded)?
                }
            };
            metrics::IN_FLIGHT_READINGS.add(accepted as i64);
            // librdkafka notices an expired message only when it next wakes up, which can be
            // seconds late: hold the deadline ourselves.
            let published =
                tokio::time::timeout(self.delivery_timeout, self.publisher.publish(&records))
                    .await
                    .unwrap_or(Err(KafkaError::MessageProduction(
                        RDKafkaErrorCode::MessageTimedOut,
                    )));
            metrics::IN_FLIGHT_READINGS.sub(accepted as i64);
            drop(permit);
            if published.is_err() {
                metrics::DELIVERY_FAILURES.inc();
            }
            published?;
        }
        metrics::READINGS_ACKED.inc_by(accepted as u64);
        metrics::BATCHES_ACKED.inc();
        metrics::ACK_LATENCY.observe(arrived.elapsed().as_secs_f64());
        Ok(BatchAck {
            sequence,
            accepted: accepted as u32,
            rejects,
        })
    }

    /// Splits a batch into the records to publish and the rejects, in index order.
    fn validate(
        &self,
        readings: Vec<Reading>,
        caller: &Principal,
    ) -> (Vec<ReadingRecord>, Vec<ReadingReject>) {
        let now = SystemTime::now();
        let ingested_at = Some(Timestamp::from(now));
        let mut records = Vec::with_capacity(readings.len());
        let mut rejects = Vec::new();
        for (index, reading) in readings.into_iter().enumerate() {
            match self.rules.check(&reading, caller, now) {
                Ok(measured_at) => records.push(ReadingRecord {
                    sensor_id: reading.sensor_id,
                    measured_at: Some(measured_at),
                    celsius: reading.celsius,
                    ingested_at,
                }),
                Err(rejection) => {
                    metrics::READINGS_REJECTED
                        .with_label_values(&[rejection.reason.as_str_name()])
                        .inc();
                    rejects.push(rejection.at(index));
                }
            }
        }
        metrics::READINGS_ACCEPTED.inc_by(records.len() as u64);
        (records, rejects)
    }
}
