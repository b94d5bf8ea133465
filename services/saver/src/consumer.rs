//! The consume → store → commit loop. Offsets are committed only after the rows (and the
//! dead letters) of their batch are durable, so a crash at any moment replays from the last
//! commit, and the primary key turns the replay into no-ops.
//!
//! Rebalances: the revoke callback runs only inside `recv()`, i.e. while a batch is being
//! collected, never while one is written or committed. Records of revoked partitions are dropped
//! from the batch in hand (uncommitted, so the new owner reads them again); the record that
//! `recv()` returns after a rebalance belongs to the new assignment and is kept.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Mutex,
    time::{Duration, Instant},
};

use rdkafka::{
    ClientContext, Message, Offset, Statistics, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer},
    error::KafkaError,
    message::OwnedMessage,
};
use sensorpipe::{config::KafkaArgs, db::NewMeasurement, kafka, shutdown};
use tokio::sync::watch;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    config::ConsumerArgs,
    dead_letters::{DeadLetter, DeadLetters, Kind},
    metrics,
    writer::{Stored, Writers},
};

/// Collects revocations (from librdkafka's thread) and turns statistics into the lag gauge.
#[derive(Default)]
pub struct SaverContext {
    revoked: Mutex<Vec<i32>>,
}

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

impl ConsumerContext for SaverContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let revoked: Vec<i32> = partitions
                .elements()
                .iter()
                .map(|p| p.partition())
                .collect();
            tracing::info!(
                ?revoked,
                "partitions revoked; their uncommitted records are left for the new owner"
            );
            self.revoked.lock().expect("not poisoned").extend(revoked);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let assigned: Vec<i32> = partitions
                .elements()
                .iter()
                .map(|p| p.partition())
                .collect();
            tracing::info!(?assigned, "partitions assigned");
            metrics::ASSIGNED_PARTITIONS.set(assigned.len() as i64);
        }
    }
}

impl SaverContext {
    fn take_revoked(&self) -> Vec<i32> {
        std::mem::take(&mut *self.revoked.lock().expect("not poisoned"))
    }
}

pub type SaverConsumer = StreamConsumer<SaverContext>;

/// The consumer of `temperatures`, subscribed, with manual commits only.
pub fn create_consumer(
    kafka: &KafkaArgs,
    args: &ConsumerArgs,
) -> Result<SaverConsumer, KafkaError> {
    let consumer: SaverConsumer = kafka::consumer_config(&kafka.kafka_brokers, &args.group_id)
        // Bounds what librdkafka prefetches (per partition by count, in total by size) and how
        // large one fetch may be. Readings are tiny and compress well, so a fetch unpacks into
        // many queued messages of a few hundred bytes each: with the default 50 MB fetches the
        // saver peaked at 127 MB RSS; with 1 MB fetches at 36 MB but starved (27k rows/s). These
        // gave 55 MB and no loss of throughput (PostgreSQL stays the bottleneck).
        .set("queued.min.messages", "2000")
        .set("queued.max.messages.kbytes", "4096")
        .set("fetch.max.bytes", "2097152")
        .set("fetch.message.max.bytes", "524288")
        .set("statistics.interval.ms", "5000")
        .create_with_context(SaverContext::default())?;
    consumer.subscribe(&[&kafka.kafka_topic])?;
    Ok(consumer)
}

pub struct Saver {
    consumer: SaverConsumer,
    writer: Writers,
    dead_letters: DeadLetters,
    args: ConsumerArgs,
    health: HealthReporter,
}

impl Saver {
    pub fn new(
        consumer: SaverConsumer,
        writer: Writers,
        dead_letters: DeadLetters,
        args: ConsumerArgs,
        health: HealthReporter,
    ) -> Self {
        Self {
            consumer,
            writer,
            dead_letters,
            args,
            health,
        }
    }

    /// Batches until `stopping` turns true; then stores and commits the batch in hand (within
    /// the shutdown grace) and returns itself for the final commit. The sender must outlive it.
    pub async fn run(mut self, mut stopping: watch::Receiver<bool>) -> Self {
        loop {
            let batch = self.collect(&mut stopping).await;
            let stop = *stopping.borrow();
            if !batch.is_empty() {
                if stop {
                    let grace = self.args.shutdown_grace;
                    if shutdown::with_grace(grace, self.handle(batch, &mut stopping))
                        .await
                        .is_none()
                    {
                        tracing::warn!(
                            "shutdown grace over with a batch unstored; it is not committed and will be read again"
                        );
                    }
                } else {
                    self.handle(batch, &mut stopping).await;
                }
            }
            if stop {
                return self;
            }
        }
    }

    /// Up to `batch_size` records, or what arrived within `batch_timeout` of the first one.
    async fn collect(&mut self, stopping: &mut watch::Receiver<bool>) -> Vec<OwnedMessage> {
        let mut batch = Vec::with_capacity(self.args.batch_size);
        let mut deadline: Option<tokio::time::Instant> = None;
        while batch.len() < self.args.batch_size && !*stopping.borrow() {
            let timeout = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = self.consumer.recv() => {
                    // A rebalance served inside this recv() happened before the record it
                    // returns: drop what the batch holds of revoked partitions first, or the
                    // new assignment's first record would be dropped with them.
                    self.drop_revoked(&mut batch);
                    match received {
                        Ok(message) => {
                            deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.args.batch_timeout);
                            batch.push(message.detach());
                        }
                        Err(error) => tracing::warn!(%error, "Kafka consumer error"),
                    }
                }
                () = timeout => break,
                _ = stopping.changed() => {}
            }
        }
        self.drop_revoked(&mut batch);
        batch
    }

    /// Records of partitions revoked since the last look are left for their new owner (their
    /// offsets are not committed, so it reads them again).
    fn drop_revoked(&self, batch: &mut Vec<OwnedMessage>) {
        let revoked = self.consumer.context().take_revoked();
        if !revoked.is_empty() {
            batch.retain(|m| !revoked.contains(&m.partition()));
        }
    }

    /// Decode, dedupe, dead-letter, store, commit: retried until it succeeds or shutdown's grace
    /// runs out. Nothing is committed for a batch that is not stored.
    #[tracing::instrument(name = "batch", skip_all, fields(records = batch.len()))]
    async fn handle(&mut self, batch: Vec<OwnedMessage>, stopping: &mut watch::Receiver<bool>) {
        let started = Instant::now();
        let decoded = Decoded::from_batch(&batch);
        let mut backoff = Backoff::new(self.args.max_backoff);
        let stored = loop {
            match self.store(&decoded, &batch).await {
                Ok(stored) => break stored,
                Err(error) => {
                    metrics::DATABASE_RETRIES.inc();
                    self.set_ready(false).await;
                    let pause = backoff.next();
                    tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "batch not stored; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        // At shutdown keep retrying: the caller's grace period bounds it.
                        _ = stopping.changed() => {}
                    }
                }
            }
        };
        self.set_ready(true).await;
        self.commit(&batch);
        let dead = decoded.poison.len() + stored.refused.len();
        let duplicates = decoded.rows.len() - stored.refused.len() - stored.inserted;
        metrics::RECORDS_CONSUMED.inc_by(batch.len() as u64);
        metrics::ROWS_INSERTED.inc_by(stored.inserted as u64);
        metrics::DUPLICATES_SKIPPED.inc_by((duplicates + decoded.repeated) as u64);
        metrics::BATCH_SIZE.observe(batch.len() as f64);
        metrics::BATCH_SECONDS.observe(started.elapsed().as_secs_f64());
        tracing::debug!(inserted = stored.inserted, duplicates, dead, "batch stored");
    }

    /// One attempt: dead letters first, then the rows; the refused rows become dead letters too.
    async fn store(&mut self, decoded: &Decoded, batch: &[OwnedMessage]) -> Result<Stored, String> {
        let letters: Vec<DeadLetter<'_>> = decoded
            .poison
            .iter()
            .map(|(index, kind, error)| letter(&batch[*index], *kind, error.clone()))
            .collect();
        self.dead_letters
            .send(&letters)
            .await
            .map_err(|e| format!("dead-letter topic: {e}"))?;
        let stored = self
            .writer
            .store(&decoded.rows)
            .await
            .map_err(|e| e.to_string())?;
        let refused: Vec<DeadLetter<'_>> = stored
            .refused
            .iter()
            .map(|(row, error)| letter(&batch[decoded.origin[*row]], Kind::Database, error.clone()))
            .collect();
        self.dead_letters
            .send(&refused)
            .await
            .map_err(|e| format!("dead-letter topic: {e}"))?;
        for (_, kind, _) in &decoded.poison {
            metrics::DEAD_LETTERED
                .with_label_values(&[kind.as_str()])
                .inc();
        }
        metrics::DEAD_LETTERED
            .with_label_values(&[Kind::Database.as_str()])
            .inc_by(stored.refused.len() as u64);
        let now = chrono::Utc::now();
        for row in &decoded.rows {
            let age = (now - row.ingested_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
            metrics::READING_AGE.observe(age.max(0.0));
        }
        Ok(stored)
    }

    /// The next offset of every partition in the batch. Async: Kafka keeps commits in order, a
    /// lost one is covered by the next, and shutdown ends with a synchronous commit.
    fn commit(&self, batch: &[OwnedMessage]) {
        let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for message in batch {
            let entry = next
                .entry((message.topic().to_owned(), message.partition()))
                .or_default();
            *entry = (*entry).max(message.offset() + 1);
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            offsets
                .add_partition_offset(&topic, partition, Offset::Offset(offset))
                .expect("a valid offset");
        }
        match self.consumer.commit(&offsets, CommitMode::Async) {
            Ok(()) => metrics::BATCHES_COMMITTED.inc(),
            Err(error) => {
                metrics::COMMIT_FAILURES.inc();
                tracing::warn!(%error, "offset commit refused; the stored records will be read again and skipped");
            }
        }
    }

    /// Flushes pending commits synchronously before the process exits.
    pub fn finish(&self) {
        if let Err(error) =
            tokio::task::block_in_place(|| self.consumer.commit_consumer_state(CommitMode::Sync))
        {
            // Nothing consumed yet, or nothing new since the last commit.
            tracing::debug!(%error, "final commit");
        }
    }

    async fn set_ready(&self, ready: bool) {
        let up = i64::from(ready);
        if metrics::DATABASE_UP.get() != up {
            metrics::DATABASE_UP.set(up);
            let status = if ready {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            self.health.set_service_status("", status).await;
        }
    }
}

fn letter(message: &OwnedMessage, kind: Kind, error: String) -> DeadLetter<'_> {
    DeadLetter {
        key: message.key(),
        value: message.payload(),
        partition: message.partition(),
        offset: message.offset(),
        kind,
        error,
    }
}

/// A batch taken apart: the rows to insert (first copy of each identity) with the index of their
/// record, the records that cannot be rows, and how many repeats were dropped.
struct Decoded {
    rows: Vec<NewMeasurement>,
    origin: Vec<usize>,
    poison: Vec<(usize, Kind, String)>,
    repeated: usize,
}

impl Decoded {
    fn from_batch(batch: &[OwnedMessage]) -> Self {
        let mut decoded = Self {
            rows: Vec::with_capacity(batch.len()),
            origin: Vec::with_capacity(batch.len()),
            poison: Vec::new(),
            repeated: 0,
        };
        let mut seen = HashSet::with_capacity(batch.len());
        for (index, message) in batch.iter().enumerate() {
            let record = match kafka::decode_record(message.payload().unwrap_or_default()) {
                Ok(record) => record,
                Err(error) => {
                    decoded.poison.push((
                        index,
                        Kind::Decode,
                        format!("not a ReadingRecord: {error}"),
                    ));
                    continue;
                }
            };
            match NewMeasurement::try_from(&record) {
                Ok(row) => {
                    if seen.insert((row.sensor_id.clone(), row.measured_at)) {
                        decoded.rows.push(row);
                        decoded.origin.push(index);
                    } else {
                        decoded.repeated += 1;
                    }
                }
                Err(error) => decoded
                    .poison
                    .push((index, Kind::Invalid, error.to_string())),
            }
        }
        decoded
    }
}

/// Capped exponential backoff: 100 ms, 200 ms, ... up to the configured maximum.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self {
            next: Duration::from_millis(100).min(max),
            max,
        }
    }

    fn next(&mut self) -> Duration {
        let current = self.next;
        self.next = (self.next * 2).min(self.max);
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(500));
        let steps: Vec<u64> = (0..5).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(steps, [100, 200, 400, 500, 500]);
    }
}
