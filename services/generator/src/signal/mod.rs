//! Simulated temperature sensors: a deterministic stream of [`Reading`]s for a seed.
//!
//! Each sensor has its own base temperature (a room, an outdoor spot or a freezer), a daily cycle
//! warmest in the local afternoon, Gaussian noise, rare spikes, and rare faults: stuck (one value
//! repeated for a while) and dropped out (no readings for a while). Sensor ids read like a real
//! installation, `site-3:room-12.t1`.
//!
//! Time is simulated in ticks: tick `k` of every sensor is at `start + k * interval` (whole
//! microseconds), and readings come out tick by tick, sensor by sensor. So each sensor's readings
//! have distinct timestamps at PostgreSQL's microsecond precision, which keeps
//! `(sensor_id, measured_at)` a unique identity. Where `start` and `interval` come from, and why
//! readings never lie in the future, is [`crate::Timeline`]'s business.
//!
//! The same [`SignalConfig`] always gives the same readings, except that deliberately future
//! readings are placed relative to the `now` passed in.

mod bad;
mod rng;
mod sensor;

use prost_types::Timestamp;
use sensorpipe::proto::v1::Reading;

pub use bad::{BadKind, FUTURE_OFFSET_MICROS};
use rng::Rng;
use sensor::{Sample, Sensor};

/// Lowest valid temperature (ingest's default bound, inclusive).
pub const MIN_CELSIUS: f64 = -90.0;
/// Highest valid temperature (ingest's default bound, inclusive).
pub const MAX_CELSIUS: f64 = 150.0;
/// Longest valid sensor id.
pub const MAX_SENSOR_ID_LEN: usize = 64;

/// Expected share of sensor ticks lost to dropouts (about 0.5 %), rounded up. Pacing makes
/// simulated time run this much slower, so timestamps lag the wall clock instead of leading it.
pub const DROPOUT_ALLOWANCE: f64 = 0.01;

/// Longest dropout, in ticks: how far one sensor's next reading can be from the current tick.
pub const MAX_DROPOUT_TICKS: u64 = sensor::DROPOUT_TICKS.1;

/// Salt of the stream that decides which readings are broken on purpose.
const SALT_BAD: u64 = 4;

/// What the signal is made of.
#[derive(Debug, Clone)]
pub struct SignalConfig {
    /// Number of sensors (at least 1).
    pub sensors: u32,
    /// Everything random derives from it.
    pub seed: u64,
    /// Time of tick 0, microseconds since the Unix epoch.
    pub start_us: i64,
    /// Time between two ticks of one sensor, microseconds (at least 1).
    pub interval_us: i64,
    /// Share of readings broken on purpose, `0.0..=1.0`.
    pub bad_rate: f64,
}

/// How a good reading relates to the sensor's true temperature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// Curve plus noise.
    Normal,
    /// One reading far off the curve.
    Spike,
    /// The sensor repeats a value it read earlier.
    Stuck,
}

/// One reading and how it was made.
#[derive(Debug, Clone)]
pub struct Generated {
    pub reading: Reading,
    /// Index of the sensor, `0..sensors`.
    pub sensor: u32,
    /// The sensor's tick.
    pub tick: u64,
    /// The tick's time, microseconds since the Unix epoch. Equal to `measured_at` unless a
    /// [`BadKind`] changed that.
    pub at_us: i64,
    pub condition: Condition,
    /// Set when the reading was broken on purpose.
    pub bad: Option<BadKind>,
}

/// The sensors and their position in simulated time.
#[derive(Debug, Clone)]
pub struct Signal {
    sensors: Vec<Sensor>,
    start_us: i64,
    interval_us: i64,
    bad_rate: f64,
    bad_rng: Rng,
    tick: u64,
    next_sensor: u32,
}

impl Signal {
    /// # Panics
    /// With no sensors or an interval below one microsecond: the config layer rules both out.
    pub fn new(config: SignalConfig) -> Self {
        assert!(config.sensors > 0, "at least one sensor");
        assert!(config.interval_us > 0, "ticks at least 1 µs apart");
        Self {
            sensors: (0..config.sensors)
                .map(|i| Sensor::new(i, config.seed))
                .collect(),
            start_us: config.start_us,
            interval_us: config.interval_us,
            bad_rate: config.bad_rate.clamp(0.0, 1.0),
            bad_rng: Rng::derive(config.seed, SALT_BAD, 0),
            tick: 0,
            next_sensor: 0,
        }
    }

    /// The id of sensor `index`.
    pub fn sensor_id(&self, index: u32) -> &str {
        &self.sensors[index as usize].id
    }

    /// Time of the next slot to be sampled; the next reading is at this time or later.
    pub fn next_slot_us(&self) -> i64 {
        self.start_us + self.tick as i64 * self.interval_us
    }

    /// The next reading, skipping sensors that are dropped out. `now_us` (microseconds since the
    /// Unix epoch) only places deliberately future readings.
    pub fn next_reading(&mut self, now_us: i64) -> Generated {
        loop {
            let sensor = self.next_sensor;
            let tick = self.tick;
            let at_us = self.next_slot_us();
            self.next_sensor += 1;
            if self.next_sensor as usize == self.sensors.len() {
                self.next_sensor = 0;
                self.tick += 1;
            }
            let state = &mut self.sensors[sensor as usize];
            let Sample::Value { celsius, condition } = state.sample(at_us) else {
                continue;
            };
            let mut reading = Reading {
                sensor_id: state.id.clone(),
                measured_at: Some(timestamp_from_micros(at_us)),
                celsius,
            };
            let bad = (self.bad_rate > 0.0 && self.bad_rng.chance(self.bad_rate)).then(|| {
                let kind = BadKind::pick(&mut self.bad_rng);
                kind.apply(&mut reading, now_us, &mut self.bad_rng);
                kind
            });
            return Generated {
                reading,
                sensor,
                tick,
                at_us,
                condition,
                bad,
            };
        }
    }
}

/// Whole microseconds since the Unix epoch as a protobuf timestamp.
pub fn timestamp_from_micros(us: i64) -> Timestamp {
    Timestamp {
        seconds: us.div_euclid(1_000_000),
        nanos: (us.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

/// A protobuf timestamp as microseconds since the Unix epoch (sub-microsecond part dropped).
pub fn micros_from_timestamp(ts: &Timestamp) -> i64 {
    ts.seconds * 1_000_000 + i64::from(ts.nanos) / 1_000
}

/// The wall clock, microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_micros() {
        for us in [
            0,
            1,
            999_999,
            1_000_000,
            1_700_000_000_123_456,
            -1,
            -1_000_001,
        ] {
            let ts = timestamp_from_micros(us);
            assert!((0..1_000_000_000).contains(&ts.nanos));
            assert_eq!(ts.nanos % 1_000, 0);
            assert_eq!(micros_from_timestamp(&ts), us);
        }
    }
}
