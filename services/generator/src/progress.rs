//! A progress line on stderr (through the log) about once a second, so a long run shows it is
//! alive and how fast it goes.

use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::{inflight::InFlight, stats::Stats};

const EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Progress {
    ticker: Interval,
    last_at: Instant,
    last_acked: u64,
}

impl Progress {
    pub(crate) fn new() -> Self {
        let mut ticker = tokio::time::interval_at(Instant::now() + EVERY, EVERY);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            ticker,
            last_at: Instant::now(),
            last_acked: 0,
        }
    }

    pub(crate) async fn tick(&mut self) {
        self.ticker.tick().await;
    }

    pub(crate) fn report(&mut self, stats: &Stats, inflight: &InFlight) {
        let now = Instant::now();
        let secs = now.duration_since(self.last_at).as_secs_f64();
        let rate = (stats.acked() - self.last_acked) as f64 / secs.max(1e-3);
        self.last_at = now;
        self.last_acked = stats.acked();
        tracing::info!(
            sent = stats.sent,
            acked = stats.acked(),
            rejected = stats.rejected,
            in_flight_batches = inflight.len(),
            in_flight_readings = inflight.readings(),
            readings_per_sec = rate.round() as u64,
            "progress"
        );
    }
}
