//! The batches not yet acknowledged: numbered, kept for resending, and counted when acked.
//!
//! A batch stays here from the moment it is generated until its ack arrives, across any number of
//! reconnects, so a lost stream loses nothing. Its size is bounded by `--max-unacked`.
//!
//! At most `window` of them (`--max-in-flight`) are out on the stream at once, oldest first; the
//! others wait here until an ack makes room. Without that bound every unacked batch would queue in
//! the transport and in ingest, and each ack would wait for all the work queued before it.

use std::collections::BTreeMap;

use sensorpipe::proto::v1::{BatchAck, ReadingBatch};
use tokio::{sync::mpsc, time::Instant};

use crate::{source::Batch, stats::Stats};

#[derive(Debug)]
struct Unacked {
    batch: ReadingBatch,
    injected_bad: u32,
    /// When it first went out on a stream; ack latency is measured from here.
    first_sent: Option<Instant>,
}

/// Unacked batches by sequence number, oldest first.
#[derive(Debug)]
pub(crate) struct InFlight {
    batches: BTreeMap<u64, Unacked>,
    readings: u64,
    last_sequence: u64,
    /// Most batches queued on the current stream and not yet acked.
    window: usize,
    /// Batches queued on the current stream and not yet acked: every unacked batch numbered
    /// below `next_to_queue`, as batches go out in sequence order.
    queued: usize,
    next_to_queue: u64,
}

/// No window: every unacked batch goes out at once.
impl Default for InFlight {
    fn default() -> Self {
        Self::with_window(usize::MAX)
    }
}

impl InFlight {
    pub(crate) fn with_window(window: usize) -> Self {
        Self {
            batches: BTreeMap::new(),
            readings: 0,
            last_sequence: 0,
            window: window.max(1),
            queued: 0,
            next_to_queue: 1,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.batches.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Readings in unacked batches.
    pub(crate) fn readings(&self) -> u64 {
        self.readings
    }

    /// Numbers the batch (counting up from 1) and keeps it until acked.
    pub(crate) fn push(&mut self, batch: Batch) -> u64 {
        self.last_sequence += 1;
        let sequence = self.last_sequence;
        self.readings += batch.readings.len() as u64;
        let unacked = Unacked {
            batch: ReadingBatch {
                sequence,
                readings: batch.readings,
            },
            injected_bad: batch.injected_bad,
            first_sent: None,
        };
        self.batches.insert(sequence, unacked);
        sequence
    }

    /// Queues the oldest batches not yet on the stream while the window has room: after a new
    /// batch, an ack, or the start of a stream.
    pub(crate) fn send(&mut self, requests: &mpsc::Sender<ReadingBatch>, stats: &mut Stats) {
        while self.queued < self.window {
            let Some((&sequence, _)) = self.batches.range(self.next_to_queue..).next() else {
                return;
            };
            self.next_to_queue = sequence + 1;
            self.queued += 1;
            self.queue(sequence, requests, stats);
        }
    }

    /// Queues batch `sequence` on a stream's request channel.
    ///
    /// The channel has room for `--max-unacked` batches and each unacked batch is queued at most
    /// once per stream, so it is never full; a closed channel means the stream is gone, and the
    /// batch is resent on the next one.
    fn queue(&mut self, sequence: u64, requests: &mpsc::Sender<ReadingBatch>, stats: &mut Stats) {
        let Some(unacked) = self.batches.get_mut(&sequence) else {
            return;
        };
        match requests.try_send(unacked.batch.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => return,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::error!(
                    sequence,
                    "request channel full; resending after a reconnect"
                );
                return;
            }
        }
        if unacked.first_sent.is_some() {
            stats.resent_batches += 1;
        } else {
            unacked.first_sent = Some(Instant::now());
            stats.sent += unacked.batch.readings.len() as u64;
            stats.sent_batches += 1;
            stats.injected_bad += u64::from(unacked.injected_bad);
        }
    }

    /// The start of a new stream: nothing is on it yet, so unacked batches go out again from the
    /// oldest, as many as the window holds.
    pub(crate) fn send_all(&mut self, requests: &mpsc::Sender<ReadingBatch>, stats: &mut Stats) {
        self.queued = 0;
        self.next_to_queue = 0;
        self.send(requests, stats);
    }

    /// Settles the acked batch and counts its outcome. An ack for no unacked batch (a duplicate,
    /// or a server bug) changes nothing.
    pub(crate) fn ack(&mut self, ack: &BatchAck, stats: &mut Stats) {
        let Some(unacked) = self.batches.remove(&ack.sequence) else {
            tracing::warn!(sequence = ack.sequence, "ack for no unacked batch, ignored");
            stats.unexpected_acks += 1;
            return;
        };
        if ack.sequence < self.next_to_queue {
            self.queued -= 1;
        }
        let size = unacked.batch.readings.len() as u64;
        self.readings -= size;
        let answered = u64::from(ack.accepted) + ack.rejects.len() as u64;
        if answered != size {
            tracing::warn!(
                sequence = ack.sequence,
                size,
                accepted = ack.accepted,
                rejected = ack.rejects.len(),
                "ack does not account for every reading of its batch"
            );
        }
        stats.record_ack(ack, unacked.first_sent.map(|sent| sent.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use sensorpipe::proto::v1::{Reading, ReadingReject};

    use super::*;

    fn batch(size: usize) -> Batch {
        Batch {
            readings: vec![Reading::default(); size],
            injected_bad: 1,
        }
    }

    #[test]
    fn numbers_from_one_and_resends_with_the_same_number() {
        let mut inflight = InFlight::default();
        let mut stats = Stats::default();
        assert_eq!(inflight.push(batch(3)), 1);
        assert_eq!(inflight.push(batch(2)), 2);
        let (tx, mut rx) = mpsc::channel(4);
        inflight.send_all(&tx, &mut stats);
        assert_eq!(
            (stats.sent, stats.sent_batches, stats.resent_batches),
            (5, 2, 0)
        );
        inflight.send_all(&tx, &mut stats);
        assert_eq!((stats.sent, stats.resent_batches), (5, 2));
        let sequences: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|b| b.sequence)
            .collect();
        assert_eq!(sequences, [1, 2, 1, 2]);
    }

    #[test]
    fn at_most_the_window_is_on_the_stream_and_an_ack_lets_the_next_go() {
        let mut inflight = InFlight::with_window(2);
        let mut stats = Stats::default();
        let (tx, mut rx) = mpsc::channel(8);
        for _ in 0..4 {
            inflight.push(batch(1));
            inflight.send(&tx, &mut stats);
        }
        let queued = |rx: &mut mpsc::Receiver<ReadingBatch>| -> Vec<u64> {
            std::iter::from_fn(|| rx.try_recv().ok())
                .map(|b| b.sequence)
                .collect()
        };
        assert_eq!(queued(&mut rx), [1, 2]);
        let ack = |sequence| BatchAck {
            sequence,
            accepted: 1,
            rejects: vec![],
        };
        inflight.ack(&ack(2), &mut stats);
        inflight.send(&tx, &mut stats);
        assert_eq!(queued(&mut rx), [3]);
        // A new stream starts again from the oldest unacked batch.
        inflight.send_all(&tx, &mut stats);
        assert_eq!(queued(&mut rx), [1, 3]);
        inflight.ack(&ack(1), &mut stats);
        inflight.send(&tx, &mut stats);
        assert_eq!(queued(&mut rx), [4]);
        assert_eq!((stats.sent_batches, stats.resent_batches), (4, 2));
    }

    #[test]
    fn an_ack_settles_its_batch_once() {
        let mut inflight = InFlight::default();
        let mut stats = Stats::default();
        let sequence = inflight.push(batch(3));
        let ack = BatchAck {
            sequence,
            accepted: 2,
            rejects: vec![ReadingReject::default()],
        };
        inflight.ack(&ack, &mut stats);
        inflight.ack(&ack, &mut stats);
        assert!(inflight.is_empty());
        assert_eq!(inflight.readings(), 0);
        assert_eq!(
            (stats.accepted, stats.rejected, stats.unexpected_acks),
            (2, 1, 1)
        );
    }
}
