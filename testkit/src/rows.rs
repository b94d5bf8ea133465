//! Rows of `measurements` written straight into a test database, as a saver batch would.

use chrono::{DateTime, Utc};
use diesel::{
    QueryResult, sql_query,
    sql_types::{Array, Varchar},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
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
/// In the same transaction it recounts the summaries of their sensors (`ListSensors` reads
/// them), as every writer of `measurements` but the saver must: see docs/design.md,
/// "How a reading is stored".
pub async fn insert(
    connection: &mut AsyncPgConnection,
    rows: &[NewMeasurement],
) -> QueryResult<usize> {
    let mut sensors: Vec<&str> = rows.iter().map(|row| row.sensor_id.as_str()).collect();
    sensors.sort_unstable();
    sensors.dedup();
    connection
        .transaction(async |connection| {
            let inserted = diesel::insert_into(measurements::table)
                .values(rows)
                .execute(connection)
                .await?;
            sql_query("SELECT sensor_summaries_refresh($1)")
                .bind::<Array<Varchar>, _>(&sensors)
                .execute(connection)
                .await?;
            Ok(inserted)
        })
        .await
}
