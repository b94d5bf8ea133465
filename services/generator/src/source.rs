//! Turns the signal into batches at the configured pace, until the count or the duration is
//! reached, and hands them over through a small bounded channel.
//!
//! It runs as its own task so generating overlaps with sending. When the client stops taking
//! batches (too many unacked), the channel fills and this task waits: that is the backpressure.

use std::time::Duration;

use sensorpipe::proto::v1::Reading;
use tokio::{
    sync::mpsc,
    task::JoinHandle,
    time::{Instant, MissedTickBehavior},
};

use crate::signal::{Signal, now_micros};

/// Readings generated together, sent together.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) readings: Vec<Reading>,
    /// How many of them were broken on purpose.
    pub(crate) injected_bad: u32,
}

/// What to generate and when to stop.
pub(crate) struct Plan {
    pub(crate) signal: Signal,
    pub(crate) batch_size: u32,
    /// Time between two batches; `None` sends as fast as they are taken.
    pub(crate) pace: Option<Duration>,
    pub(crate) count: Option<u64>,
    /// Stop generating at this moment.
    pub(crate) until: Option<Instant>,
}

impl Plan {
    /// A paced batch holds at most one second's worth of readings, so low rates still send every
    /// second instead of waiting minutes to fill a batch.
    pub(crate) fn effective_batch_size(batch_size: u32, rate: u64) -> u32 {
        if rate == 0 {
            batch_size
        } else {
            batch_size.min(u32::try_from(rate).unwrap_or(u32::MAX))
        }
    }

    /// Spreads batches evenly at `rate` readings per second.
    pub(crate) fn pace_for(rate: u64, batch_size: u32) -> Option<Duration> {
        // At least 1 ns: tokio's interval refuses a zero period (absurd rates round to it).
        (rate > 0).then(|| {
            Duration::from_secs_f64(f64::from(batch_size) / rate as f64)
                .max(Duration::from_nanos(1))
        })
    }
}

/// Starts generating; the task ends when the plan is done or the receiver is dropped.
pub(crate) fn spawn(plan: Plan, batches: mpsc::Sender<Batch>) -> JoinHandle<()> {
    tokio::spawn(produce(plan, batches))
}

async fn produce(mut plan: Plan, batches: mpsc::Sender<Batch>) {
    let mut ticker = plan.pace.map(|pace| {
        let mut ticker = tokio::time::interval(pace);
        // After a stall, carry on at the pace instead of bursting to catch up.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker
    });
    let until = plan.until.unwrap_or_else(far_future);
    let mut remaining = plan.count.unwrap_or(u64::MAX);
    while remaining > 0 {
        if let Some(ticker) = ticker.as_mut() {
            tokio::select! {
                _ = ticker.tick() => {}
                () = tokio::time::sleep_until(until) => break,
            }
        }
        if Instant::now() >= until {
            break;
        }
        let size = remaining.min(u64::from(plan.batch_size)) as usize;
        let (batch, newest_us) = generate(&mut plan.signal, size);
        hold_until_past(newest_us).await;
        if batches.send(batch).await.is_err() {
            break;
        }
        remaining -= size as u64;
    }
    tracing::debug!("source finished generating");
}

fn generate(signal: &mut Signal, size: usize) -> (Batch, i64) {
    let now_us = now_micros();
    let mut readings = Vec::with_capacity(size);
    let mut injected_bad = 0;
    let mut newest_us = i64::MIN;
    for _ in 0..size {
        let generated = signal.next_reading(now_us);
        injected_bad += u32::from(generated.bad.is_some());
        newest_us = newest_us.max(generated.at_us);
        readings.push(generated.reading);
    }
    let batch = Batch {
        readings,
        injected_bad,
    };
    (batch, newest_us)
}

/// The rule "no reading lies in the future" enforced in one place, whatever the timeline's
/// estimates: a batch waits until its newest tick has passed on the wall clock.
async fn hold_until_past(newest_us: i64) {
    let ahead_us = newest_us - now_micros();
    if ahead_us > 0 {
        tokio::time::sleep(Duration::from_micros(ahead_us as u64)).await;
    }
}

fn far_future() -> Instant {
    // Far enough to never matter, near enough not to overflow `Instant`.
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
