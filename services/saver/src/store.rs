//! Storing a batch: its dead letters and its rows, retried with backoff until both are durable,
//! because the caller commits the batch's offsets right after. Each outcome goes to `readiness`.

use std::time::Duration;

use rdkafka::message::OwnedMessage;
use sensorpipe::backoff::Backoff;
use tokio::sync::watch;

/// The first pause after a failed write; later ones double up to `--max-backoff`.
const FIRST_RETRY: Duration = Duration::from_millis(100);

use crate::{
    dead_letters::{DeadLetter, DeadLetters},
    decode::Decoded,
    error::Error,
    metrics,
    readiness::Readiness,
    writer::{Stored, Writers},
};

/// Where a batch goes: rows to PostgreSQL, rejects to the dead-letter topic.
pub struct BatchStore {
    writer: Writers,
    dead_letters: DeadLetters,
    readiness: Readiness,
    max_backoff: Duration,
}

impl BatchStore {
    pub fn new(
        writer: Writers,
        dead_letters: DeadLetters,
        readiness: Readiness,
        max_backoff: Duration,
    ) -> Self {
        Self {
            writer,
            dead_letters,
            readiness,
            max_backoff,
        }
    }

    /// Retries until the batch is stored: the caller commits its offsets as soon as this returns.
    pub async fn store(
        &mut self,
        decoded: &Decoded,
        batch: &[OwnedMessage],
        stopping: &mut watch::Receiver<bool>,
    ) -> Stored {
        let mut backoff = Backoff::new(FIRST_RETRY, self.max_backoff);
        loop {
            match self.attempt(decoded, batch).await {
                Ok(stored) => {
                    self.readiness.write_done(true).await;
                    return stored;
                }
                Err(error) => {
                    metrics::DATABASE_RETRIES.inc();
                    self.readiness.write_done(false).await;
                    let pause = backoff.next_pause();
                    tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "batch not stored; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        // At shutdown keep retrying: the caller's grace period bounds it.
                        _ = stopping.changed() => {}
                    }
                }
            }
        }
    }

    /// One attempt: dead letters first, then the rows; the refused rows become dead letters too.
    /// Counted only once it all succeeded, so a retried batch is counted once.
    async fn attempt(
        &mut self,
        decoded: &Decoded,
        batch: &[OwnedMessage],
    ) -> Result<Stored, Error> {
        let letters: Vec<DeadLetter<'_>> = decoded
            .rejects
            .iter()
            .map(|(index, reason)| DeadLetter {
                record: &batch[*index],
                reason,
            })
            .collect();
        self.dead_letters.send(&letters).await?;
        let stored = self.writer.store(&decoded.rows).await?;
        let refused: Vec<DeadLetter<'_>> = stored
            .refused
            .iter()
            .map(|(row, reason)| DeadLetter {
                record: &batch[decoded.origin[*row]],
                reason,
            })
            .collect();
        self.dead_letters.send(&refused).await?;
        for letter in letters.iter().chain(&refused) {
            metrics::DEAD_LETTERED
                .with_label_values(&[letter.reason.kind()])
                .inc();
        }
        let now = chrono::Utc::now();
        for row in &decoded.rows {
            let age = (now - row.ingested_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
            metrics::READING_AGE.observe(age.max(0.0));
        }
        Ok(stored)
    }
}
