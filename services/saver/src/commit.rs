//! Committing offsets, called only once a batch's rows and dead letters are stored: a crash at
//! any moment replays from the last commit, and the primary key turns the replay into no-ops.

use std::collections::BTreeMap;

use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{CommitMode, Consumer},
    message::OwnedMessage,
};

use crate::{metrics, subscription::SaverConsumer};

/// The next offset of every partition in the stored `batch`. Async: Kafka keeps commits in
/// order, a lost one is covered by the next, and shutdown ends with [`commit_final`].
pub fn commit_stored(consumer: &SaverConsumer, batch: &[OwnedMessage]) {
    match consumer.commit(&next_offsets(batch), CommitMode::Async) {
        Ok(()) => metrics::BATCHES_COMMITTED.inc(),
        Err(error) => {
            metrics::COMMIT_FAILURES.inc();
            tracing::warn!(%error, "offset commit refused; the stored records will be read again and skipped");
        }
    }
}

/// Flushes pending commits synchronously before the process exits.
pub fn commit_final(consumer: &SaverConsumer) {
    if let Err(error) =
        tokio::task::block_in_place(|| consumer.commit_consumer_state(CommitMode::Sync))
    {
        // Nothing consumed yet, or nothing new since the last commit.
        tracing::debug!(%error, "final commit");
    }
}

/// Per partition, one past the highest offset in the batch: never past what it holds.
fn next_offsets(batch: &[OwnedMessage]) -> TopicPartitionList {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for message in batch {
        let entry = next
            .entry((message.topic(), message.partition()))
            .or_default();
        *entry = (*entry).max(message.offset() + 1);
    }
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        offsets
            .add_partition_offset(topic, partition, Offset::Offset(offset))
            .expect("a valid offset");
    }
    offsets
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;

    use super::*;

    fn record(partition: i32, offset: i64) -> OwnedMessage {
        let topic = "temperatures".to_owned();
        OwnedMessage::new(
            None,
            None,
            topic,
            Timestamp::NotAvailable,
            partition,
            offset,
            None,
        )
    }

    #[test]
    fn commits_one_past_the_highest_offset_of_each_partition() {
        let batch = [record(0, 5), record(1, 7), record(0, 3)];
        let committed: Vec<(i32, Offset)> = next_offsets(&batch)
            .elements()
            .iter()
            .map(|p| (p.partition(), p.offset()))
            .collect();
        assert_eq!(committed, [(0, Offset::Offset(6)), (1, Offset::Offset(8))]);
    }
}
