//! The saver's Kafka consumer: subscribed to the topic, manual commits only (see `commit`),
//! prefetch bounded so a backlog cannot blow up memory, and a group membership that lets a
//! restart resume at once (see `membership`). librdkafka's statistics feed the lag gauge.

use rdkafka::{
    ClientContext, Statistics,
    consumer::{Consumer, StreamConsumer},
    error::KafkaError,
};
use sensorpipe::{config::KafkaArgs, kafka};

use crate::{
    config::{ConsumerArgs, MembershipArgs},
    metrics,
    rebalance::SaverContext,
};

pub type SaverConsumer = StreamConsumer<SaverContext>;

/// The consumer of `temperatures`, subscribed, with manual commits only; a static member of the
/// group when `instance_id` is given.
pub fn create_consumer(
    kafka: &KafkaArgs,
    args: &ConsumerArgs,
    membership: &MembershipArgs,
    instance_id: Option<&str>,
) -> Result<SaverConsumer, KafkaError> {
    let mut config = kafka::consumer_config(kafka, &args.group_id);
    if let Some(id) = instance_id {
        config.set("group.instance.id", id);
    }
    let session = membership.session_timeout.as_millis();
    let consumer: SaverConsumer = config
        // Heartbeats well inside the session, so one lost heartbeat does not end it.
        .set("session.timeout.ms", session.to_string())
        .set("heartbeat.interval.ms", (session / 5).max(100).to_string())
        // Bounds what librdkafka prefetches (per partition by count, in total by size) and how
        // large one fetch may be. Readings are tiny and compress well, so a fetch unpacks into
        // many queued messages of a few hundred bytes each: with the default 50 MB fetches the
        // saver peaked at 127 MB RSS; with 1 MB fetches at 36 MB but starved (27k rows/s). These
        // gave 55 MB.
        .set("queued.min.messages", "2000")
        .set("queued.max.messages.kbytes", "4096")
        .set("fetch.max.bytes", "2097152")
        .set("fetch.message.max.bytes", "524288")
        // With queues this small they are full whenever a batch is being written, and a full
        // queue postpones a partition's next fetch by this long (1 s by default): the saver then
        // waited for records more than half of the time, 68,000 rows/s; with 10 ms, 128,000.
        .set("fetch.queue.backoff.ms", "10")
        .set("statistics.interval.ms", "5000")
        .create_with_context(SaverContext::default())?;
    consumer.subscribe(&[&kafka.kafka_topic])?;
    Ok(consumer)
}

/// Every `statistics.interval.ms`, on librdkafka's thread: the lag of each partition.
impl ClientContext for SaverContext {
    fn stats(&self, statistics: Statistics) {
        for topic in statistics.topics.values() {
            for (partition, stats) in &topic.partitions {
                if *partition >= 0 && stats.consumer_lag >= 0 {
                    metrics::CONSUMER_LAG
                        .with_label_values(&[&partition.to_string()])
                        .set(stats.consumer_lag);
                }
            }
        }
    }
}
