//! Rebalances never let the saver commit past what is stored. The revoke callback runs only
//! inside `recv()`, i.e. while a batch is being collected, never while one is written or
//! committed. Records of revoked partitions are dropped from the batch in hand (uncommitted, so
//! the new owner reads them again); the record that `recv()` returns after a rebalance belongs
//! to the new assignment and is kept.

use std::sync::Mutex;

use rdkafka::{
    Message, TopicPartitionList,
    consumer::{BaseConsumer, ConsumerContext, Rebalance},
    message::OwnedMessage,
};

use crate::metrics;

/// Collects revocations from librdkafka's thread until the consume loop looks at them.
#[derive(Default)]
pub struct SaverContext {
    revoked: Mutex<Vec<i32>>,
}

impl ConsumerContext for SaverContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let revoked = numbers(partitions);
            tracing::info!(
                ?revoked,
                "partitions revoked; their uncommitted records are left for the new owner"
            );
            self.revoked.lock().expect("not poisoned").extend(revoked);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let assigned = numbers(partitions);
            tracing::info!(?assigned, "partitions assigned");
            metrics::ASSIGNED_PARTITIONS.set(assigned.len() as i64);
        }
    }
}

impl SaverContext {
    /// Records of partitions revoked since the last look are left for their new owner (their
    /// offsets are not committed, so it reads them again).
    pub fn drop_revoked(&self, batch: &mut Vec<OwnedMessage>) {
        let revoked = std::mem::take(&mut *self.revoked.lock().expect("not poisoned"));
        if !revoked.is_empty() {
            batch.retain(|m| !revoked.contains(&m.partition()));
        }
    }
}

/// The partition numbers of a rebalance (the saver consumes one topic).
fn numbers(partitions: &TopicPartitionList) -> Vec<i32> {
    partitions
        .elements()
        .iter()
        .map(|p| p.partition())
        .collect()
}
