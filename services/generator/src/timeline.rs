//! Where simulated time starts and how far apart one sensor's readings are.
//!
//! Two rules shape it: every reading of a sensor has its own whole-microsecond timestamp (the
//! identity `(sensor_id, measured_at)` must stay unique at PostgreSQL's precision), and no reading
//! lies in the future (ingest rejects those). Tick `k` of every sensor is at
//! `start + k * interval`.
//!
//! - **Paced** (`--rate R` with `S` sensors): `interval` is `S / R` seconds, rounded down to whole
//!   microseconds and stretched by [`DROPOUT_ALLOWANCE`] (dropped-out ticks yield no reading, so
//!   without it simulated time would run ahead of the readings sent). `start` is now, minus the
//!   ticks one batch spans, so the first batch is already in the past when it is sent. Simulated
//!   time then follows the wall clock, lagging slightly; after a stall (backpressure, outage) it
//!   lags by the stall and stays behind, because pacing does not burst to catch up.
//! - **Unpaced** (`--rate 0`): ticks are 1 ms apart and `start` lies far enough back that a run of
//!   `--count` readings ends before now; without a count it lies one hour back.
//!
//! In both cases the source holds a batch back until its newest reading is not in the future
//! (see `source`), so the rule holds even when an estimate here falls short, e.g. an unpaced run
//! that outlasts its hour of backlog then runs at `sensors × 1000` readings/s.

use crate::signal::{DROPOUT_ALLOWANCE, MAX_DROPOUT_TICKS};

/// Tick spacing when unpaced: a plausible sensor period that still lets 100 sensors send 100,000
/// readings per second of simulated time.
pub const UNPACED_INTERVAL_US: i64 = 1_000;
/// How far back an unpaced run of unknown length starts.
pub const UNPACED_BACKLOG_US: i64 = 3_600_000_000;

/// Tick 0 and the tick spacing, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    pub start_us: i64,
    pub interval_us: i64,
}

/// A rate that the sensors cannot produce with distinct microsecond timestamps.
#[derive(Debug, thiserror::Error)]
#[error(
    "--rate {rate} is more than {sensors} sensor(s) can report with one reading per microsecond \
     each; use more --sensors"
)]
pub struct RateTooHigh {
    pub rate: u64,
    pub sensors: u32,
}

impl Timeline {
    /// `rate` readings per second in total, sent in batches of `batch_size`.
    pub fn paced(
        now_us: i64,
        sensors: u32,
        rate: u64,
        batch_size: u32,
    ) -> Result<Self, RateTooHigh> {
        let interval =
            (f64::from(sensors) * 1e6 * (1.0 - DROPOUT_ALLOWANCE) / rate as f64).floor() as i64;
        if interval < 1 {
            return Err(RateTooHigh { rate, sensors });
        }
        let ticks_per_batch = i64::from(batch_size.div_ceil(sensors));
        Ok(Self {
            start_us: now_us - ticks_per_batch * interval,
            interval_us: interval,
        })
    }

    /// Unpaced from a given start (`--start`): a replay or a backfill.
    pub fn starting_at(start_us: i64) -> Self {
        Self {
            start_us,
            interval_us: UNPACED_INTERVAL_US,
        }
    }

    /// As fast as acks allow; `count` is the run's length in readings when known.
    pub fn unpaced(now_us: i64, sensors: u32, count: Option<u64>) -> Self {
        let backlog_us = match count {
            Some(count) => {
                let ticks = count.div_ceil(u64::from(sensors));
                let ticks = ticks + (ticks as f64 * DROPOUT_ALLOWANCE).ceil() as u64;
                let ticks = ticks + MAX_DROPOUT_TICKS;
                i64::try_from(ticks)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(UNPACED_INTERVAL_US)
            }
            None => UNPACED_BACKLOG_US,
        };
        Self {
            start_us: now_us.saturating_sub(backlog_us),
            interval_us: UNPACED_INTERVAL_US,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_interval_follows_sensors_over_rate() {
        let t = Timeline::paced(1_000_000_000, 100, 1000, 500).unwrap();
        // 100 sensors at 1000/s: each every 100 ms, less the dropout allowance.
        assert_eq!(t.interval_us, 99_000);
        // A batch of 500 spans 5 ticks.
        assert_eq!(t.start_us, 1_000_000_000 - 5 * 99_000);
    }

    #[test]
    fn paced_refuses_sub_microsecond_ticks() {
        assert!(Timeline::paced(0, 1, 1_000_000, 1).is_err());
        assert!(Timeline::paced(0, 2, 1_000_000, 1).is_ok());
    }

    #[test]
    fn unpaced_starts_early_enough_for_the_count() {
        let now = 10_000_000_000_000;
        let t = Timeline::unpaced(now, 100, Some(100_000));
        let ticks_needed = 1_000;
        assert!(t.start_us + ticks_needed * t.interval_us <= now);
        assert_eq!(
            Timeline::unpaced(now, 100, None).start_us,
            now - UNPACED_BACKLOG_US
        );
    }
}
