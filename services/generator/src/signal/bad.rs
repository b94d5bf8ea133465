//! Readings broken on purpose (`--bad-rate`), one validation rule each, so demos and tests can
//! check that ingest rejects exactly those and lets their neighbours through.

use sensorpipe::proto::v1::{Reading, RejectReason};

use super::{MAX_CELSIUS, MAX_SENSOR_ID_LEN, MIN_CELSIUS, rng::Rng, timestamp_from_micros};

/// How far ahead a deliberately future reading lies: far past ingest's default 5-minute skew.
pub const FUTURE_OFFSET_MICROS: i64 = 3_600_000_000;

/// The rule a deliberately bad reading breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// `celsius` is NaN.
    NanCelsius,
    /// `celsius` is plus or minus infinity.
    InfiniteCelsius,
    /// `celsius` is below -90.
    TooCold,
    /// `celsius` is above 150.
    TooHot,
    /// `sensor_id` is empty.
    EmptySensorId,
    /// `sensor_id` is longer than 64 characters.
    LongSensorId,
    /// `sensor_id` has a character outside `A-Z a-z 0-9 . _ : -`.
    BadCharsetSensorId,
    /// `measured_at` is not set.
    MissingTimestamp,
    /// `measured_at` lies an hour in the future.
    FutureTimestamp,
}

impl BadKind {
    /// Every kind, for picking one at random and for tests.
    pub const ALL: [BadKind; 9] = [
        BadKind::NanCelsius,
        BadKind::InfiniteCelsius,
        BadKind::TooCold,
        BadKind::TooHot,
        BadKind::EmptySensorId,
        BadKind::LongSensorId,
        BadKind::BadCharsetSensorId,
        BadKind::MissingTimestamp,
        BadKind::FutureTimestamp,
    ];

    /// The reason ingest should give when it rejects such a reading.
    pub fn reject_reason(self) -> RejectReason {
        match self {
            BadKind::NanCelsius | BadKind::InfiniteCelsius => RejectReason::TemperatureNotFinite,
            BadKind::TooCold | BadKind::TooHot => RejectReason::TemperatureOutOfRange,
            BadKind::EmptySensorId | BadKind::LongSensorId | BadKind::BadCharsetSensorId => {
                RejectReason::InvalidSensorId
            }
            BadKind::MissingTimestamp => RejectReason::MissingTimestamp,
            BadKind::FutureTimestamp => RejectReason::TimestampInFuture,
        }
    }

    /// The field of `Reading` that is broken.
    pub fn field(self) -> &'static str {
        match self.reject_reason() {
            RejectReason::InvalidSensorId => "sensor_id",
            RejectReason::MissingTimestamp | RejectReason::TimestampInFuture => "measured_at",
            _ => "celsius",
        }
    }

    pub(crate) fn pick(rng: &mut Rng) -> Self {
        Self::ALL[rng.between(0, Self::ALL.len() as u64 - 1) as usize]
    }

    /// Breaks this kind's rule in `reading` and leaves the other fields valid.
    pub(crate) fn apply(self, reading: &mut Reading, now_us: i64, rng: &mut Rng) {
        match self {
            BadKind::NanCelsius => reading.celsius = f64::NAN,
            BadKind::InfiniteCelsius => {
                reading.celsius = if rng.chance(0.5) {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                };
            }
            BadKind::TooCold => reading.celsius = MIN_CELSIUS - rng.range(0.01, 200.0),
            BadKind::TooHot => reading.celsius = MAX_CELSIUS + rng.range(0.01, 500.0),
            BadKind::EmptySensorId => reading.sensor_id.clear(),
            BadKind::LongSensorId => {
                let target = MAX_SENSOR_ID_LEN + 1 + rng.between(0, 15) as usize;
                reading.sensor_id.push('.');
                while reading.sensor_id.len() < target {
                    reading.sensor_id.push('x');
                }
            }
            BadKind::BadCharsetSensorId => {
                const BAD: [char; 6] = [' ', '/', '#', '*', 'é', '°'];
                let bad = BAD[rng.between(0, BAD.len() as u64 - 1) as usize];
                // Generated ids are short ASCII: every position is a char boundary, and one more
                // char keeps them within 64, so only the charset rule is broken.
                let at = rng.between(0, reading.sensor_id.len() as u64) as usize;
                reading.sensor_id.insert(at, bad);
            }
            BadKind::MissingTimestamp => reading.measured_at = None,
            BadKind::FutureTimestamp => {
                reading.measured_at = Some(timestamp_from_micros(now_us + FUTURE_OFFSET_MICROS));
            }
        }
    }
}
