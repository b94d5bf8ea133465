//! What a run achieved, for people (`Display`) and for tests and scripts (the fields).

use std::{collections::BTreeMap, fmt, time::Duration};

use crate::stats::Stats;

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every reading was generated and the stream closed after the last ack.
    Completed,
    /// Stopped by Ctrl-C or SIGTERM; outstanding acks were awaited for the shutdown grace.
    Interrupted,
    /// No stream could be opened for `--give-up-after`; `error` is the last failure.
    GaveUp { error: String },
    /// Ingest answered in a way retrying cannot fix (e.g. `INVALID_ARGUMENT`: a generator bug).
    Failed { error: String },
}

/// The end-of-run numbers. `main` prints it and exits with 1 unless [`Summary::is_success`].
#[derive(Debug, Clone)]
pub struct Summary {
    pub outcome: Outcome,
    /// The seed, to repeat the run.
    pub seed: u64,
    /// Readings sent at least once (resends not counted again).
    pub sent: u64,
    pub sent_batches: u64,
    /// Readings ingest accepted (durable in Kafka).
    pub accepted: u64,
    /// Readings ingest rejected, total and by reason (`INVALID_SENSOR_ID`, ...).
    pub rejected: u64,
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Readings broken on purpose (`--bad-rate`) among those sent: expected among the rejects.
    pub injected_bad: u64,
    /// Batches sent again on a new stream because their ack had not arrived.
    pub resent_batches: u64,
    /// Streams opened after the first one.
    pub reconnects: u64,
    /// Readings generated but never acked (sent or not): lost unless ingest stored them anyway.
    pub undelivered: u64,
    /// Acks for no unacked batch (duplicates); should be 0.
    pub unexpected_acks: u64,
    pub elapsed: Duration,
    /// From a batch's first send to its ack.
    pub ack_latency_p50: Duration,
    pub ack_latency_p99: Duration,
}

impl Summary {
    pub(crate) fn new(
        outcome: Outcome,
        seed: u64,
        stats: &Stats,
        undelivered: u64,
        elapsed: Duration,
    ) -> Self {
        Self {
            outcome,
            seed,
            sent: stats.sent,
            sent_batches: stats.sent_batches,
            accepted: stats.accepted,
            rejected: stats.rejected,
            rejects_by_reason: stats
                .rejects_by_reason
                .iter()
                .map(|(reason, count)| ((*reason).to_owned(), *count))
                .collect(),
            injected_bad: stats.injected_bad,
            resent_batches: stats.resent_batches,
            reconnects: stats.reconnects,
            undelivered,
            unexpected_acks: stats.unexpected_acks,
            elapsed,
            ack_latency_p50: stats.latency.quantile(0.50),
            ack_latency_p99: stats.latency.quantile(0.99),
        }
    }

    /// Everything generated was acknowledged, and nothing went wrong that retrying could not fix.
    pub fn is_success(&self) -> bool {
        matches!(self.outcome, Outcome::Completed | Outcome::Interrupted) && self.undelivered == 0
    }

    /// Acked readings (accepted or rejected) per second of the whole run.
    pub fn readings_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.accepted + self.rejected) as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed => f.write_str("completed"),
            Outcome::Interrupted => f.write_str("interrupted"),
            Outcome::GaveUp { error } => write!(f, "gave up reaching ingest: {error}"),
            Outcome::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "generator summary (seed {})", self.seed)?;
        writeln!(f, "  outcome      {}", self.outcome)?;
        writeln!(
            f,
            "  sent         {} readings in {} batches ({} batches resent, {} reconnects)",
            self.sent, self.sent_batches, self.resent_batches, self.reconnects
        )?;
        writeln!(f, "  accepted     {}", self.accepted)?;
        write!(
            f,
            "  rejected     {} ({} injected bad)",
            self.rejected, self.injected_bad
        )?;
        for (reason, count) in &self.rejects_by_reason {
            write!(f, ", {count} {reason}")?;
        }
        writeln!(f)?;
        writeln!(f, "  undelivered  {}", self.undelivered)?;
        if self.unexpected_acks > 0 {
            writeln!(f, "  unexpected acks {}", self.unexpected_acks)?;
        }
        writeln!(
            f,
            "  elapsed      {:.3} s, {:.0} readings/s acked",
            self.elapsed.as_secs_f64(),
            self.readings_per_second()
        )?;
        if self.accepted + self.rejected == 0 {
            return write!(f, "  ack latency  - (nothing acked)");
        }
        write!(
            f,
            "  ack latency  p50 {:.3} ms, p99 {:.3} ms",
            self.ack_latency_p50.as_secs_f64() * 1e3,
            self.ack_latency_p99.as_secs_f64() * 1e3
        )
    }
}
