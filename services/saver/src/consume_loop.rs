//! The consume → store → commit loop: batches close by count or time, each is stored before its
//! offsets are committed, and a stop finishes the batch in hand before the final commit.

use std::time::Instant;

use rdkafka::{consumer::Consumer, error::KafkaError, message::OwnedMessage};
use sensorpipe::shutdown;
use tokio::sync::watch;

use crate::{
    commit::{commit_final, commit_stored},
    config::ConsumerArgs,
    dead_letters::DeadLetters,
    decode::Decoded,
    error::Error,
    metrics,
    readiness::Readiness,
    store::BatchStore,
    subscription::SaverConsumer,
    writer::Writers,
};

pub struct Saver {
    consumer: SaverConsumer,
    store: BatchStore,
    args: ConsumerArgs,
}

impl Saver {
    pub fn new(
        consumer: SaverConsumer,
        writer: Writers,
        dead_letters: DeadLetters,
        args: ConsumerArgs,
        readiness: Readiness,
    ) -> Self {
        let store = BatchStore::new(writer, dead_letters, readiness, args.max_backoff);
        Self {
            consumer,
            store,
            args,
        }
    }

    /// Batches until `stopping` turns true; then stores and commits the batch in hand (within
    /// the shutdown grace) and returns itself for the final commit. The sender must outlive it.
    /// Ends early with the error when the consumer can no longer work (fenced by a saver with
    /// the same instance id): its batch in hand stays uncommitted for the group to read again.
    pub async fn run(mut self, mut stopping: watch::Receiver<bool>) -> (Self, Result<(), Error>) {
        loop {
            let batch = match self.collect(&mut stopping).await {
                Ok(batch) => batch,
                Err(fatal) => return (self, Err(fatal)),
            };
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
                return (self, Ok(()));
            }
        }
    }

    /// Up to `batch_size` records, or what arrived within `batch_timeout` of the first one; an
    /// error only when the consumer has failed for good.
    async fn collect(
        &mut self,
        stopping: &mut watch::Receiver<bool>,
    ) -> Result<Vec<OwnedMessage>, Error> {
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
                    self.consumer.context().drop_revoked(&mut batch);
                    match received {
                        Ok(message) => {
                            deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.args.batch_timeout);
                            batch.push(message.detach());
                        }
                        Err(error) => {
                            if let Some((code, reason)) = self.consumer.client().fatal_error() {
                                tracing::error!(%reason, "Kafka consumer failed for good; is another saver running with this instance id?");
                                return Err(KafkaError::MessageConsumptionFatal(code).into());
                            }
                            tracing::warn!(%error, "Kafka consumer error");
                        }
                    }
                }
                () = timeout => break,
                _ = stopping.changed() => {}
            }
        }
        self.consumer.context().drop_revoked(&mut batch);
        Ok(batch)
    }

    /// Decode, dedupe, dead-letter, store, commit: retried until it succeeds or shutdown's grace
    /// runs out. Nothing is committed for a batch that is not stored.
    #[tracing::instrument(name = "batch", skip_all, fields(records = batch.len()))]
    async fn handle(&mut self, batch: Vec<OwnedMessage>, stopping: &mut watch::Receiver<bool>) {
        let started = Instant::now();
        let decoded = Decoded::from_batch(&batch);
        let stored = self.store.store(&decoded, &batch, stopping).await;
        commit_stored(&self.consumer, &batch);
        let dead = decoded.rejects.len() + stored.refused.len();
        let duplicates = decoded.rows.len() - stored.refused.len() - stored.inserted;
        metrics::RECORDS_CONSUMED.inc_by(batch.len() as u64);
        metrics::ROWS_INSERTED.inc_by(stored.inserted as u64);
        metrics::DUPLICATES_SKIPPED.inc_by((duplicates + decoded.repeated) as u64);
        metrics::BATCH_SIZE.observe(batch.len() as f64);
        metrics::BATCH_SECONDS.observe(started.elapsed().as_secs_f64());
        tracing::debug!(inserted = stored.inserted, duplicates, dead, "batch stored");
    }

    /// Flushes pending commits synchronously before the process exits.
    pub fn finish(&self) {
        commit_final(&self.consumer);
    }
}
