//! Counters the client keeps while it runs; the [`crate::Summary`] is made from them at the end.

use std::{collections::BTreeMap, time::Duration};

use sensorpipe::proto::v1::{BatchAck, RejectReason};

use crate::latency::Histogram;

#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Readings that went out on a stream at least once.
    pub(crate) sent: u64,
    pub(crate) sent_batches: u64,
    pub(crate) injected_bad: u64,
    pub(crate) accepted: u64,
    pub(crate) rejected: u64,
    pub(crate) rejects_by_reason: BTreeMap<&'static str, u64>,
    pub(crate) acked_batches: u64,
    pub(crate) resent_batches: u64,
    pub(crate) reconnects: u64,
    pub(crate) unexpected_acks: u64,
    pub(crate) latency: Histogram,
}

impl Stats {
    pub(crate) fn record_ack(&mut self, ack: &BatchAck, latency: Option<Duration>) {
        self.acked_batches += 1;
        self.accepted += u64::from(ack.accepted);
        self.rejected += ack.rejects.len() as u64;
        for reject in &ack.rejects {
            *self
                .rejects_by_reason
                .entry(reason_name(reject.reason))
                .or_default() += 1;
        }
        if let Some(latency) = latency {
            self.latency.record(latency);
        }
    }

    /// Readings answered by an ack, accepted or rejected.
    pub(crate) fn acked(&self) -> u64 {
        self.accepted + self.rejected
    }
}

/// `INVALID_SENSOR_ID` for `REJECT_REASON_INVALID_SENSOR_ID`: short enough for a summary line.
fn reason_name(reason: i32) -> &'static str {
    RejectReason::try_from(reason)
        .map(|r| r.as_str_name())
        .map(|name| name.strip_prefix("REJECT_REASON_").unwrap_or(name))
        .unwrap_or("UNKNOWN")
}
