//! Row types of `measurements` and their mapping to and from the Protobuf contract.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use prost_types::Timestamp;

use super::schema::measurements;
use crate::{proto::v1, reading::is_valid_sensor_id};

/// A stored row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = measurements, check_for_backend(diesel::pg::Pg))]
pub struct Measurement {
    pub sensor_id: String,
    pub measured_at: DateTime<Utc>,
    pub celsius: f64,
    pub ingested_at: DateTime<Utc>,
    pub saved_at: DateTime<Utc>,
}

/// A row to insert; `saved_at` is set by the database when the row is written.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = measurements, check_for_backend(diesel::pg::Pg))]
pub struct NewMeasurement {
    pub sensor_id: String,
    pub measured_at: DateTime<Utc>,
    pub celsius: f64,
    pub ingested_at: DateTime<Utc>,
}

/// Why a Kafka record cannot become a row: what the table's constraints would refuse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("{field} is missing")]
    Missing { field: &'static str },
    #[error("{field} is not a valid timestamp")]
    InvalidTimestamp { field: &'static str },
    #[error("sensor_id {0:?} is not 1 to 64 characters of A-Z a-z 0-9 . _ : -")]
    InvalidSensorId(String),
    #[error("celsius {0} is not a finite number")]
    NotFinite(f64),
}

impl TryFrom<&v1::ReadingRecord> for NewMeasurement {
    type Error = RecordError;

    fn try_from(record: &v1::ReadingRecord) -> Result<Self, Self::Error> {
        if !is_valid_sensor_id(&record.sensor_id) {
            let shown: String = record.sensor_id.chars().take(80).collect();
            return Err(RecordError::InvalidSensorId(shown));
        }
        if !record.celsius.is_finite() {
            return Err(RecordError::NotFinite(record.celsius));
        }
        Ok(Self {
            sensor_id: record.sensor_id.clone(),
            measured_at: to_datetime(record.measured_at.as_ref(), "measured_at")?,
            celsius: record.celsius,
            ingested_at: to_datetime(record.ingested_at.as_ref(), "ingested_at")?,
        })
    }
}

impl From<Measurement> for v1::Measurement {
    fn from(row: Measurement) -> Self {
        Self {
            sensor_id: row.sensor_id,
            measured_at: Some(to_timestamp(row.measured_at)),
            celsius: row.celsius,
            ingested_at: Some(to_timestamp(row.ingested_at)),
            saved_at: Some(to_timestamp(row.saved_at)),
        }
    }
}

fn to_datetime(ts: Option<&Timestamp>, field: &'static str) -> Result<DateTime<Utc>, RecordError> {
    let ts = ts.ok_or(RecordError::Missing { field })?;
    let nanos = u32::try_from(ts.nanos).map_err(|_| RecordError::InvalidTimestamp { field })?;
    DateTime::from_timestamp(ts.seconds, nanos).ok_or(RecordError::InvalidTimestamp { field })
}

/// Converts a row's time back to the contract's timestamp.
pub fn to_timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> v1::ReadingRecord {
        v1::ReadingRecord {
            sensor_id: "s-1".into(),
            measured_at: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_456_000,
            }),
            celsius: 21.5,
            ingested_at: Some(Timestamp {
                seconds: 1_700_000_001,
                nanos: 0,
            }),
        }
    }

    #[test]
    fn record_maps_to_row_field_by_field() {
        let row = NewMeasurement::try_from(&record()).unwrap();
        assert_eq!(row.sensor_id, "s-1");
        assert_eq!(to_timestamp(row.measured_at), record().measured_at.unwrap());
        assert_eq!(row.celsius, 21.5);
        assert_eq!(to_timestamp(row.ingested_at), record().ingested_at.unwrap());
    }

    #[test]
    fn missing_or_invalid_timestamps_name_the_field() {
        let mut r = record();
        r.measured_at = None;
        assert_eq!(
            NewMeasurement::try_from(&r),
            Err(RecordError::Missing {
                field: "measured_at"
            })
        );
        let mut r = record();
        r.ingested_at = Some(Timestamp {
            seconds: 0,
            nanos: -1,
        });
        assert_eq!(
            NewMeasurement::try_from(&r),
            Err(RecordError::InvalidTimestamp {
                field: "ingested_at"
            })
        );
    }
}
