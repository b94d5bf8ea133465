//! Ingest's validation rules as the contract states them (`proto/sensorpipe/v1/reading.proto`),
//! for checking what the generator sends without the ingest service.

use generator::signal::{MAX_CELSIUS, MAX_SENSOR_ID_LEN, MIN_CELSIUS, micros_from_timestamp};
use sensorpipe::proto::v1::{Reading, RejectReason};

/// Ingest's default allowed clock skew.
pub const MAX_SKEW_US: i64 = 5 * 60 * 1_000_000;

pub fn valid_sensor_id(id: &str) -> bool {
    (1..=MAX_SENSOR_ID_LEN).contains(&id.chars().count())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// Every rule `reading` breaks at wall time `now_us`.
pub fn violations(reading: &Reading, now_us: i64) -> Vec<RejectReason> {
    let mut broken = Vec::new();
    if !valid_sensor_id(&reading.sensor_id) {
        broken.push(RejectReason::InvalidSensorId);
    }
    match &reading.measured_at {
        None => broken.push(RejectReason::MissingTimestamp),
        Some(ts) if micros_from_timestamp(ts) > now_us + MAX_SKEW_US => {
            broken.push(RejectReason::TimestampInFuture)
        }
        Some(_) => {}
    }
    if !reading.celsius.is_finite() {
        broken.push(RejectReason::TemperatureNotFinite);
    } else if !(MIN_CELSIUS..=MAX_CELSIUS).contains(&reading.celsius) {
        broken.push(RejectReason::TemperatureOutOfRange);
    }
    broken
}
