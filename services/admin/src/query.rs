//! The questions the admin service answers, checked: every protocol turns its request into one of
//! these types, so the same input gets the same answer and the same error everywhere.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use sensorpipe::{
    proto::v1,
    reading::{MAX_SENSOR_ID_LEN, is_valid_sensor_id},
};

use crate::{
    error::{AdminError, Field},
    token::{Filter, MeasurementsToken, Position, SensorsToken},
};

/// Rows or sensors per page when the request leaves the size at 0.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The most a page may hold: bounds the work and the memory of one call.
pub const MAX_PAGE_SIZE: usize = 1000;

/// `ListMeasurements`, checked; also the key of its cached answers (see `cache`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeasurementsQuery {
    pub page_size: usize,
    pub filter: Filter,
    /// Resume strictly after this row (`measured_at`, `sensor_id`) in newest-first order.
    pub after: Option<(DateTime<Utc>, String)>,
}

impl TryFrom<v1::ListMeasurementsRequest> for MeasurementsQuery {
    type Error = AdminError;

    fn try_from(request: v1::ListMeasurementsRequest) -> Result<Self, AdminError> {
        let page_size = page_size(request.page_size.into())?;
        let filter = Filter {
            sensor_id: sensor_filter(&request.sensor_id)?,
            start: request
                .start_time
                .map(|t| to_micros(&t, Field::StartTime))
                .transpose()?,
            end: request
                .end_time
                .map(|t| to_micros(&t, Field::EndTime))
                .transpose()?,
        };
        if let (Some(start), Some(end)) = (filter.start, filter.end)
            && end < start
        {
            return Err(AdminError::invalid(
                Field::EndTime,
                format!("must not be before start_time ({end} < {start})"),
            ));
        }
        let after = match request.page_token.as_str() {
            "" => None,
            token => {
                let token = MeasurementsToken::decode(token).ok_or_else(not_issued)?;
                if token.filter != filter {
                    return Err(AdminError::invalid(
                        Field::PageToken,
                        "was issued for other filters (sensor_id, start_time, end_time); \
                         repeat the first request's filters or start without a token",
                    ));
                }
                Some((token.measured_at, token.sensor_id))
            }
        };
        Ok(Self {
            page_size,
            filter,
            after,
        })
    }
}

impl MeasurementsQuery {
    /// The token for the page after one that ended with this row.
    pub fn next_token(&self, last: &sensorpipe::db::Measurement) -> String {
        MeasurementsToken {
            measured_at: last.measured_at,
            sensor_id: last.sensor_id.clone(),
            filter: self.filter.clone(),
        }
        .encode()
    }
}

/// `ListSensors`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorsQuery {
    pub page_size: usize,
    /// Resume strictly after this sensor id.
    pub after: Option<String>,
}

impl TryFrom<v1::ListSensorsRequest> for SensorsQuery {
    type Error = AdminError;

    fn try_from(request: v1::ListSensorsRequest) -> Result<Self, AdminError> {
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(
                SensorsToken::decode(token)
                    .ok_or_else(not_issued)?
                    .sensor_id,
            ),
        };
        Ok(Self {
            page_size: page_size(request.page_size.into())?,
            after,
        })
    }
}

impl SensorsQuery {
    pub fn next_token(&self, last_sensor_id: &str) -> String {
        SensorsToken {
            sensor_id: last_sensor_id.to_owned(),
        }
        .encode()
    }
}

/// `WatchMeasurements`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchQuery {
    pub sensor_id: Option<String>,
    /// Resume strictly after this position; `None` means from now on.
    pub after: Option<Position>,
}

impl TryFrom<v1::WatchMeasurementsRequest> for WatchQuery {
    type Error = AdminError;

    fn try_from(request: v1::WatchMeasurementsRequest) -> Result<Self, AdminError> {
        let after = match request.cursor.as_str() {
            "" => None,
            cursor => Some(Position::decode(cursor).ok_or_else(|| {
                AdminError::invalid(
                    Field::Cursor,
                    "is not a cursor this service issued; use the cursor of the last row received",
                )
            })?),
        };
        Ok(Self {
            sensor_id: sensor_filter(&request.sensor_id)?,
            after,
        })
    }
}

/// The page size as asked (any integer, so HTTP's `limit=-1` and gRPC's `-1` read the same).
pub fn page_size(asked: i64) -> Result<usize, AdminError> {
    match asked {
        0 => Ok(DEFAULT_PAGE_SIZE),
        1..=1000 => Ok(asked as usize),
        _ => Err(AdminError::invalid(
            Field::PageSize,
            format!(
                "must be from 0 (the default, {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}, got {asked}"
            ),
        )),
    }
}

fn not_issued() -> AdminError {
    AdminError::invalid(
        Field::PageToken,
        "is not a page token this service issued for this call; \
         pass next_page_token of the previous response unchanged",
    )
}

fn sensor_filter(sensor_id: &str) -> Result<Option<String>, AdminError> {
    if sensor_id.is_empty() {
        return Ok(None);
    }
    if !is_valid_sensor_id(sensor_id) {
        let shown: String = sensor_id.chars().take(80).collect();
        return Err(AdminError::invalid(
            Field::SensorId,
            format!("{shown:?} is not 1 to {MAX_SENSOR_ID_LEN} characters of A-Z a-z 0-9 . _ : -"),
        ));
    }
    Ok(Some(sensor_id.to_owned()))
}

/// Stored times have microsecond precision, so a bound in nanoseconds is rounded up: for a stored
/// time `m`, `m >= t` and `m < t` mean the same with `t` rounded up to the next microsecond.
fn to_micros(ts: &Timestamp, field: Field) -> Result<DateTime<Utc>, AdminError> {
    let invalid = || AdminError::invalid(field, "is not a valid timestamp");
    let nanos = u32::try_from(ts.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(invalid)?;
    let micros = ts
        .seconds
        .checked_mul(1_000_000)
        .and_then(|m| m.checked_add(i64::from(nanos.div_ceil(1000))))
        .ok_or_else(invalid)?;
    // PostgreSQL's timestamptz spans 4713 BC to 294276 AD; the contract's Timestamp stays within
    // years 1 to 9999, which is what is accepted here.
    DateTime::from_timestamp_micros(micros)
        .filter(|t| (-62_135_596_800..=253_402_300_799).contains(&t.timestamp()))
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: AdminError) -> Field {
        match error {
            AdminError::Invalid { field, .. } => field,
            other => panic!("not an input error: {other}"),
        }
    }

    fn ts(seconds: i64, nanos: i32) -> Option<Timestamp> {
        Some(Timestamp { seconds, nanos })
    }

    #[test]
    fn page_size_defaults_and_bounds() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(1).unwrap(), 1);
        assert_eq!(page_size(1000).unwrap(), 1000);
        for bad in [-1, 1001, 1_000_000, i64::MIN] {
            assert_eq!(field_of(page_size(bad).unwrap_err()), Field::PageSize);
        }
    }

    #[test]
    fn bounds_round_up_to_the_microsecond() {
        let query = MeasurementsQuery::try_from(v1::ListMeasurementsRequest {
            start_time: ts(10, 1),
            end_time: ts(10, 1000),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(query.filter.start.unwrap().timestamp_micros(), 10_000_001);
        assert_eq!(query.filter.end.unwrap().timestamp_micros(), 10_000_001);
    }

    #[test]
    fn each_bad_field_is_named() {
        let request = |f: fn(&mut v1::ListMeasurementsRequest)| {
            let mut r = v1::ListMeasurementsRequest::default();
            f(&mut r);
            field_of(MeasurementsQuery::try_from(r).unwrap_err())
        };
        assert_eq!(request(|r| r.page_size = -5), Field::PageSize);
        assert_eq!(request(|r| r.sensor_id = "bad id".into()), Field::SensorId);
        assert_eq!(request(|r| r.sensor_id = "x".repeat(65)), Field::SensorId);
        assert_eq!(request(|r| r.start_time = ts(0, -1)), Field::StartTime);
        assert_eq!(request(|r| r.end_time = ts(i64::MAX, 0)), Field::EndTime);
        assert_eq!(
            request(|r| {
                r.start_time = ts(20, 0);
                r.end_time = ts(10, 0);
            }),
            Field::EndTime
        );
        assert_eq!(
            request(|r| r.page_token = "garbage".into()),
            Field::PageToken
        );
    }

    #[test]
    fn a_page_token_only_works_with_its_own_filters() {
        let first = MeasurementsQuery::try_from(v1::ListMeasurementsRequest {
            sensor_id: "s-1".into(),
            ..Default::default()
        })
        .unwrap();
        let row = sensorpipe::db::Measurement {
            sensor_id: "s-1".into(),
            measured_at: DateTime::from_timestamp(100, 0).unwrap(),
            celsius: 1.0,
            ingested_at: DateTime::from_timestamp(100, 0).unwrap(),
            saved_at: DateTime::from_timestamp(100, 0).unwrap(),
        };
        let token = first.next_token(&row);
        let again = |sensor_id: &str| {
            MeasurementsQuery::try_from(v1::ListMeasurementsRequest {
                sensor_id: sensor_id.into(),
                page_token: token.clone(),
                ..Default::default()
            })
        };
        assert_eq!(
            again("s-1").unwrap().after,
            Some((row.measured_at, "s-1".to_owned()))
        );
        assert_eq!(field_of(again("s-2").unwrap_err()), Field::PageToken);
        assert_eq!(field_of(again("").unwrap_err()), Field::PageToken);
        // A ListSensors token is not a ListMeasurements token.
        let sensors = SensorsQuery {
            page_size: 1,
            after: None,
        }
        .next_token("s-1");
        let foreign = MeasurementsQuery::try_from(v1::ListMeasurementsRequest {
            page_token: sensors,
            ..Default::default()
        });
        assert_eq!(field_of(foreign.unwrap_err()), Field::PageToken);
    }

    #[test]
    fn watch_cursor_must_be_issued() {
        let request = v1::WatchMeasurementsRequest {
            cursor: "abc".into(),
            ..Default::default()
        };
        assert_eq!(
            field_of(WatchQuery::try_from(request).unwrap_err()),
            Field::Cursor
        );
    }
}
