//! Kafka in one place: how producers and consumers are configured, how a reading becomes a record
//! (key = sensor id, value = protobuf `ReadingRecord`), and topic creation.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use prost::Message;
use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::{ClientContext, DefaultClientContext},
    consumer::StreamConsumer,
    error::{KafkaError, RDKafkaErrorCode},
    producer::{FutureProducer, FutureRecord, future_producer::Delivery},
};

use crate::{config::KafkaArgs, kafka_properties::KafkaProperties, proto::v1::ReadingRecord};

/// Which Kafka a client talks to and how: the bootstrap servers and, from `--kafka-config-file`,
/// the settings (TLS, SASL) every client gets. A bare broker list (`"127.0.0.1:9092"`, as tests
/// pass it) is a plaintext cluster with no extra settings; a service passes its [`KafkaArgs`].
#[derive(Debug, Clone, Copy)]
pub struct Cluster<'a> {
    pub brokers: &'a str,
    pub properties: Option<&'a KafkaProperties>,
}

impl<'a> From<&'a str> for Cluster<'a> {
    fn from(brokers: &'a str) -> Self {
        Self {
            brokers,
            properties: None,
        }
    }
}

impl<'a> From<&'a String> for Cluster<'a> {
    fn from(brokers: &'a String) -> Self {
        Self::from(brokers.as_str())
    }
}

impl<'a> From<&'a KafkaArgs> for Cluster<'a> {
    fn from(args: &'a KafkaArgs) -> Self {
        Self {
            brokers: &args.kafka_brokers,
            properties: args.kafka_config_file.as_ref(),
        }
    }
}

/// A record that reached Kafka only from librdkafka's point of view is not enough: the settings
/// below make a delivery report mean "every in-sync replica has it, exactly once".
pub fn producer_config<'a>(cluster: impl Into<Cluster<'a>>) -> ClientConfig {
    let mut config = client_config(cluster.into());
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        // Small, so an ack waits little; large enough to fill batches at high rates. Ingest sets
        // its own (`--kafka-linger`, default 0): its callers wait for every ack.
        .set("linger.ms", "5");
    config
}

/// A producer with [`producer_config`].
pub fn create_producer<'a>(cluster: impl Into<Cluster<'a>>) -> Result<FutureProducer, KafkaError> {
    producer_config(cluster).create()
}

/// No automatic commits: a consumer commits offsets itself, and only for records it has fully
/// handled (the saver: rows committed to the database). Nothing is ever committed on its behalf.
pub fn consumer_config<'a>(cluster: impl Into<Cluster<'a>>, group_id: &str) -> ClientConfig {
    let mut config = client_config(cluster.into());
    config
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed");
    config
}

/// What every producer and consumer shares. While a broker is away librdkafka retries the
/// connection with a backoff that doubles up to `reconnect.backoff.max.ms`; at the default 10 s
/// (plus up to 50 % jitter) a client noticed a restarted broker up to 15 s late, and a producer's
/// records waited that long. 1 s caps that at 1.5 s for a few connection attempts.
///
/// The settings of `--kafka-config-file` go in here, so no client can miss them; the file may not
/// set a key that sensorpipe sets itself (see `kafka_properties`), so none of ours is undone.
fn client_config(cluster: Cluster<'_>) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", cluster.brokers)
        .set("reconnect.backoff.max.ms", "1000");
    for (key, value) in cluster
        .properties
        .into_iter()
        .flat_map(KafkaProperties::iter)
    {
        config.set(key, value);
    }
    config
}

/// A client context that remembers why the broker last refused to authenticate the client
/// (librdkafka only logs it and keeps retrying), so a service can fail at start-up with the reason
/// instead of waiting for a broker that will never let it in. Logs like the default context.
/// Clones share what they saw: keep one, give the client another.
#[derive(Debug, Clone, Default)]
pub struct AuthenticationWatch {
    refused: Arc<Mutex<Option<String>>>,
}

impl AuthenticationWatch {
    /// librdkafka's reason for the last refusal (it names the mechanism, never the password).
    pub fn refusal(&self) -> Option<String> {
        self.refused.lock().expect("never poisoned").clone()
    }
}

impl ClientContext for AuthenticationWatch {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication) {
            *self.refused.lock().expect("never poisoned") = Some(reason.to_owned());
        }
        DefaultClientContext.error(error, reason);
    }
}

/// A consumer with [`consumer_config`]; it still has to `subscribe`.
pub fn create_consumer<'a>(
    cluster: impl Into<Cluster<'a>>,
    group_id: &str,
) -> Result<StreamConsumer, KafkaError> {
    consumer_config(cluster, group_id).create()
}

/// The record value: the protobuf encoding of `ReadingRecord`.
///
/// prost leaves out a `double` equal to its default, and `-0.0 == 0.0`, so a reading of -0.0 °C
/// would reach the saver as 0.0. Writing the field once more keeps its sign: on the wire the last
/// occurrence of a scalar field wins, in every protobuf implementation.
pub fn encode_record(record: &ReadingRecord) -> Vec<u8> {
    let mut value = record.encode_to_vec();
    if record.celsius == 0.0 && record.celsius.is_sign_negative() {
        prost::encoding::double::encode(CELSIUS_FIELD, &record.celsius, &mut value);
    }
    value
}

/// `ReadingRecord.celsius`'s field number in `reading.proto`.
const CELSIUS_FIELD: u32 = 3;

/// Parses a record value; a failure means the record is poison (it goes to the dead-letter topic).
pub fn decode_record(value: &[u8]) -> Result<ReadingRecord, prost::DecodeError> {
    ReadingRecord::decode(value)
}

/// A reading's Kafka record: key = sensor id, so one sensor's readings keep their order on one
/// partition; value = `value`, the reading's [`encode_record`] bytes (the producer copies them).
pub fn reading_record<'a>(
    topic: &'a str,
    record: &'a ReadingRecord,
    value: &'a [u8],
) -> FutureRecord<'a, str, [u8]> {
    FutureRecord::to(topic)
        .key(record.sensor_id.as_str())
        .payload(value)
}

/// Publishes one reading ([`reading_record`]) and waits for the broker's confirmation.
/// `queue_timeout` bounds the wait for room in the producer's queue, not the delivery itself.
pub async fn publish(
    producer: &FutureProducer,
    topic: &str,
    record: &ReadingRecord,
    queue_timeout: Duration,
) -> Result<Delivery, KafkaError> {
    let value = encode_record(record);
    producer
        .send(reading_record(topic, record, &value), queue_timeout)
        .await
        .map_err(|(error, _message)| error)
}

/// Creates a topic (replication factor 1, as on the local one-node broker); an existing topic is
/// fine. The broker has topic auto-creation off, so every topic is made on purpose. Returns once
/// the broker's metadata shows the topic with a leader for every partition.
pub async fn create_topic<'a>(
    cluster: impl Into<Cluster<'a>>,
    name: &str,
    partitions: i32,
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(cluster.into()).create()?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics([&topic], &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    // The create call returns before every broker's metadata shows the topic; a client that
    // looks it up at once (ingest checks its topic at start) could still be told it is unknown.
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let metadata = admin
                .inner()
                .fetch_metadata(Some(&name), Duration::from_secs(5))?;
            let ready = metadata.topics().first().is_some_and(|t| {
                t.error().is_none()
                    && t.partitions().len() == partitions as usize
                    && t.partitions().iter().all(|p| p.leader() >= 0)
            });
            if ready {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(KafkaError::AdminOp(
                    RDKafkaErrorCode::UnknownTopicOrPartition,
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .expect("metadata wait panicked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_the_sign_of_zero_celsius() {
        for celsius in [-0.0, 0.0, -12.5, 21.5] {
            let record = ReadingRecord {
                sensor_id: "s-1".into(),
                celsius,
                ..Default::default()
            };
            let decoded = decode_record(&encode_record(&record)).unwrap();
            assert_eq!(decoded, record);
            assert_eq!(
                decoded.celsius.is_sign_negative(),
                celsius.is_sign_negative(),
                "{celsius:?}"
            );
        }
    }
}
