//! Rows of `measurements` written straight into a test database, as a saver batch would.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sensorpipe::db::{NewMeasurement, schema::measurements};

/// A row of `sensor` measured `second` seconds after a fixed instant, with microseconds (which
/// the table must keep), ingested 100 s later.
pub fn measurement(sensor: &str, second: i64, celsius: f64) -> NewMeasurement {
    let at = |s| DateTime::<Utc>::from_timestamp(s, 456_789_000).unwrap();
    NewMeasurement {
        sensor_id: sensor.into(),
        measured_at: at(1_700_000_000 + second),
        celsius,
        ingested_at: at(1_700_000_100 + second),
    }
}

/// Inserts `rows` in one statement; the number inserted, or why the database refused them.
pub async fn insert(
    connection: &mut AsyncPgConnection,
    rows: &[NewMeasurement],
) -> QueryResult<usize> {
    diesel::insert_into(measurements::table)
        .values(rows)
        .execute(connection)
        .await
}
