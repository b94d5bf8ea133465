//! The rules a reading must pass. A broken rule rejects that reading alone, with the field it
//! concerns and a message a person can act on; its neighbours go on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;
use sensorpipe::{
    auth::Principal,
    proto::v1::{Reading, ReadingReject, RejectReason},
    reading::{MAX_SENSOR_ID_LEN, is_valid_sensor_id},
};

use crate::config::Limits;

/// The limits that apply to readings, taken from the config once.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub min_celsius: f64,
    pub max_celsius: f64,
    pub max_future_skew: Duration,
}

impl From<&Limits> for Rules {
    fn from(limits: &Limits) -> Self {
        Self {
            min_celsius: limits.min_celsius,
            max_celsius: limits.max_celsius,
            max_future_skew: limits.max_future_skew,
        }
    }
}

/// Why a reading was refused: the contract's reason, the field, and an explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub field: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn at(self, index: usize) -> ReadingReject {
        ReadingReject {
            index: index as u32,
            reason: self.reason.into(),
            field: self.field.to_owned(),
            message: self.message,
        }
    }
}

impl Rules {
    /// Checks one reading against the rules at time `now`. On success returns `measured_at`
    /// truncated to whole microseconds: PostgreSQL keeps microseconds, so the identity
    /// `(sensor_id, measured_at)` is the same in Kafka and in the table.
    pub fn check(
        &self,
        reading: &Reading,
        caller: &Principal,
        now: SystemTime,
    ) -> Result<Timestamp, Rejection> {
        check_sensor_id(&reading.sensor_id)?;
        check_permitted(&reading.sensor_id, caller)?;
        let measured_at = self.check_measured_at(reading.measured_at.as_ref(), now)?;
        self.check_celsius(reading.celsius)?;
        Ok(measured_at)
    }

    fn check_measured_at(
        &self,
        at: Option<&Timestamp>,
        now: SystemTime,
    ) -> Result<Timestamp, Rejection> {
        let reject = |reason, message: String| Rejection {
            reason,
            field: "measured_at",
            message,
        };
        let Some(at) = at else {
            return Err(reject(
                RejectReason::MissingTimestamp,
                "measured_at is missing".into(),
            ));
        };
        if !(0..1_000_000_000).contains(&at.nanos) {
            return Err(reject(
                RejectReason::MissingTimestamp,
                format!("measured_at has nanos {} outside 0..999999999", at.nanos),
            ));
        }
        let limit = now + self.max_future_skew;
        let limit_secs = limit
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let at_secs = at.seconds as f64 + f64::from(at.nanos) / 1e9;
        if at_secs > limit_secs {
            let ahead = at_secs - (limit_secs - self.max_future_skew.as_secs_f64());
            return Err(reject(
                RejectReason::TimestampInFuture,
                format!(
                    "measured_at is {ahead:.0} s in the future; at most {} s is allowed",
                    self.max_future_skew.as_secs()
                ),
            ));
        }
        Ok(Timestamp {
            seconds: at.seconds,
            nanos: at.nanos - at.nanos % 1_000,
        })
    }

    fn check_celsius(&self, celsius: f64) -> Result<(), Rejection> {
        let reject = |reason, message| Rejection {
            reason,
            field: "celsius",
            message,
        };
        if !celsius.is_finite() {
            return Err(reject(
                RejectReason::TemperatureNotFinite,
                format!("celsius {celsius} is not a finite number"),
            ));
        }
        if celsius < self.min_celsius {
            return Err(reject(
                RejectReason::TemperatureOutOfRange,
                format!(
                    "celsius {celsius} is below the minimum {}",
                    self.min_celsius
                ),
            ));
        }
        if celsius > self.max_celsius {
            return Err(reject(
                RejectReason::TemperatureOutOfRange,
                format!(
                    "celsius {celsius} is above the maximum {}",
                    self.max_celsius
                ),
            ));
        }
        Ok(())
    }
}

/// A device token writes only its own sensors; the reading is refused alone, like any other.
fn check_permitted(id: &str, caller: &Principal) -> Result<(), Rejection> {
    if caller.may_write(id) {
        return Ok(());
    }
    Err(Rejection {
        reason: RejectReason::SensorNotPermitted,
        field: "sensor_id",
        message: format!(
            "sensor_id `{id}` is not permitted: this token may write only sensors whose id \
             starts with {}",
            caller
                .write_prefixes()
                .iter()
                .map(|prefix| format!("`{prefix}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    })
}

fn check_sensor_id(id: &str) -> Result<(), Rejection> {
    if is_valid_sensor_id(id) {
        return Ok(());
    }
    let shown: String = id.chars().take(MAX_SENSOR_ID_LEN + 1).collect();
    Err(Rejection {
        reason: RejectReason::InvalidSensorId,
        field: "sensor_id",
        message: format!(
            "sensor_id {shown:?} must be 1 to {MAX_SENSOR_ID_LEN} characters of A-Z a-z 0-9 . _ : -"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_SECS: u64 = 1_800_000_000;

    fn rules() -> Rules {
        Rules {
            min_celsius: -90.0,
            max_celsius: 150.0,
            max_future_skew: Duration::from_secs(300),
        }
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn reading(sensor_id: &str, seconds: i64, celsius: f64) -> Reading {
        Reading {
            sensor_id: sensor_id.into(),
            measured_at: Some(Timestamp {
                seconds,
                nanos: 123_456_789,
            }),
            celsius,
        }
    }

    fn reason(r: &Reading) -> Option<(RejectReason, &'static str)> {
        rules()
            .check(r, &Principal::AuthOff, now())
            .err()
            .map(|e| (e.reason, e.field))
    }

    #[test]
    fn a_good_reading_passes_with_microsecond_precision() {
        let at = rules()
            .check(
                &reading("site-1:room_2.t-3", NOW_SECS as i64, 21.5),
                &Principal::AuthOff,
                now(),
            )
            .unwrap();
        assert_eq!(
            at,
            Timestamp {
                seconds: NOW_SECS as i64,
                nanos: 123_456_000
            }
        );
        // Bounds are inclusive; a reading right at the skew limit passes.
        for celsius in [-90.0, 150.0] {
            assert_eq!(reason(&reading("s", 0, celsius)), None);
        }
        let mut at_limit = reading("s", NOW_SECS as i64 + 300, 1.0);
        at_limit.measured_at.as_mut().unwrap().nanos = 0;
        assert_eq!(reason(&at_limit), None);
    }

    #[test]
    fn each_rule_names_its_reason_and_field() {
        use RejectReason::*;
        let t = NOW_SECS as i64;
        let long = "x".repeat(65);
        assert_eq!(
            reason(&reading("", t, 1.0)),
            Some((InvalidSensorId, "sensor_id"))
        );
        assert_eq!(
            reason(&reading(&long, t, 1.0)),
            Some((InvalidSensorId, "sensor_id"))
        );
        assert_eq!(
            reason(&reading("bad id", t, 1.0)),
            Some((InvalidSensorId, "sensor_id"))
        );
        assert_eq!(
            reason(&reading("sensör", t, 1.0)),
            Some((InvalidSensorId, "sensor_id"))
        );
        let mut missing = reading("s", t, 1.0);
        missing.measured_at = None;
        assert_eq!(reason(&missing), Some((MissingTimestamp, "measured_at")));
        let mut bad_nanos = reading("s", t, 1.0);
        bad_nanos.measured_at.as_mut().unwrap().nanos = -1;
        assert_eq!(reason(&bad_nanos), Some((MissingTimestamp, "measured_at")));
        assert_eq!(
            reason(&reading("s", t + 301, 1.0)),
            Some((TimestampInFuture, "measured_at"))
        );
        assert_eq!(
            reason(&reading("s", t, f64::NAN)),
            Some((TemperatureNotFinite, "celsius"))
        );
        assert_eq!(
            reason(&reading("s", t, f64::NEG_INFINITY)),
            Some((TemperatureNotFinite, "celsius"))
        );
        assert_eq!(
            reason(&reading("s", t, -90.01)),
            Some((TemperatureOutOfRange, "celsius"))
        );
        assert_eq!(
            reason(&reading("s", t, 150.01)),
            Some((TemperatureOutOfRange, "celsius"))
        );
    }

    #[test]
    fn messages_say_what_is_wrong() {
        let e = rules()
            .check(
                &reading("s", NOW_SECS as i64, 180.5),
                &Principal::AuthOff,
                now(),
            )
            .unwrap_err();
        assert_eq!(e.message, "celsius 180.5 is above the maximum 150");
        let e = rules()
            .check(
                &reading("s", NOW_SECS as i64 + 3600, 1.0),
                &Principal::AuthOff,
                now(),
            )
            .unwrap_err();
        assert!(e.message.contains("3600 s in the future"), "{}", e.message);
    }
}
