//! One table of readings fed to each layer that judges them (see `sensorpipe::reading`): ingest's
//! validation (the real service, over gRPC), the saver's record-to-row mapping, and the table's
//! constraints (a row inserted straight into a fresh database). Each case says what each layer
//! must do with it, so a rule changed in one layer and not in the others fails here.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::DateTime;
use prost_types::Timestamp;
use sensorpipe::{
    db::{self, NewMeasurement},
    proto::v1::{Reading, ReadingBatch, ReadingRecord, ingest_service_client::IngestServiceClient},
};
use support::start_ingest;

/// What a layer does with a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accepts,
    /// Refuses it; for ingest, naming this field.
    Refuses(&'static str),
}
use Verdict::{Accepts, Refuses};

/// A reading, and what ingest, the saver's mapping and the table each do with it. The saver and
/// the table hold the invariants (a valid sensor id, a finite temperature); ingest holds those
/// and its own policy (the configured bounds, -90 to 150 °C by default) on top.
struct Case {
    what: &'static str,
    sensor_id: String,
    celsius: f64,
    ingest: Verdict,
    saver: Verdict,
    table: Verdict,
}

fn case(what: &'static str, sensor_id: &str, celsius: f64, layers: [Verdict; 3]) -> Case {
    let [ingest, saver, table] = layers;
    Case {
        what,
        sensor_id: sensor_id.to_owned(),
        celsius,
        ingest,
        saver,
        table,
    }
}

fn cases() -> Vec<Case> {
    let all = |verdict| [verdict; 3];
    let bad_id = all(Refuses("sensor_id"));
    let not_finite = all(Refuses("celsius"));
    vec![
        case("a plain reading", "lab-1", 21.5, all(Accepts)),
        case(
            "every allowed id character",
            "Site-9:room_2.t-3",
            20.0,
            all(Accepts),
        ),
        case("the longest id", &"x".repeat(64), 20.0, all(Accepts)),
        case("an id one too long", &"x".repeat(65), 20.0, bad_id),
        case("an empty id", "", 20.0, bad_id),
        case("a space in the id", "bad id", 20.0, bad_id),
        case("a non-ASCII id", "sensör", 20.0, bad_id),
        case("a slash in the id", "a/b", 20.0, bad_id),
        case("minus zero", "lab-2", -0.0, all(Accepts)),
        case("the lowest default bound", "lab-3", -90.0, all(Accepts)),
        case("the highest default bound", "lab-4", 150.0, all(Accepts)),
        case("NaN", "lab-5", f64::NAN, not_finite),
        case("infinity", "lab-6", f64::INFINITY, not_finite),
        case("minus infinity", "lab-7", f64::NEG_INFINITY, not_finite),
        // Ingest's policy only: a record with it is still storable.
        case(
            "above the bounds",
            "lab-8",
            999.0,
            [Refuses("celsius"), Accepts, Accepts],
        ),
        case(
            "below the bounds",
            "lab-9",
            -120.0,
            [Refuses("celsius"), Accepts, Accepts],
        ),
    ]
}

/// When case `index` was measured: a minute ago, a millisecond apart, so every identity differs.
fn measured_at(index: usize) -> Timestamp {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Timestamp {
        seconds: now.as_secs() as i64 - 60,
        nanos: index as i32 * 1_000_000,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_layer_judges_the_same_table_of_readings_as_documented() {
    let cases = cases();
    let (brokers, topic) = testkit::fresh_topic("layers", 1).await;
    let ingest = start_ingest(&brokers, &topic, &[]).await;
    let database_url = testkit::fresh_database("layers").await;
    let mut connection = db::connect(&database_url).await.expect("test database");

    // Ingest: one batch, so each reject names its case by index.
    let readings: Vec<Reading> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| Reading {
            sensor_id: c.sensor_id.clone(),
            measured_at: Some(measured_at(i)),
            celsius: c.celsius,
        })
        .collect();
    let ack = IngestServiceClient::connect(ingest.url(""))
        .await
        .unwrap()
        .send_readings(ReadingBatch {
            sequence: 1,
            readings,
        })
        .await
        .expect("the batch is answered")
        .into_inner();
    let ingest_verdict = |index: usize| {
        ack.rejects
            .iter()
            .find(|r| r.index as usize == index)
            .map_or(Accepts, |r| match r.field.as_str() {
                "sensor_id" => Refuses("sensor_id"),
                "celsius" => Refuses("celsius"),
                other => panic!("case {index}: rejected naming {other}: {}", r.message),
            })
    };

    for (index, case) in cases.iter().enumerate() {
        let what = format!("{} ({:?}, {})", case.what, case.sensor_id, case.celsius);
        assert_eq!(ingest_verdict(index), case.ingest, "ingest: {what}");

        let record = ReadingRecord {
            sensor_id: case.sensor_id.clone(),
            measured_at: Some(measured_at(index)),
            celsius: case.celsius,
            ingested_at: Some(measured_at(index)),
        };
        let mapped = NewMeasurement::try_from(&record);
        let saver = match &mapped {
            Ok(_) => Accepts,
            Err(db::RecordError::InvalidSensorId(_)) => Refuses("sensor_id"),
            Err(db::RecordError::NotFinite(_)) => Refuses("celsius"),
            Err(other) => panic!("saver: {what}: refused for another reason: {other}"),
        };
        assert_eq!(saver, case.saver, "saver: {what}");

        // The table sees the row as any writer would send it, checked or not.
        let at = DateTime::from_timestamp(record.measured_at.unwrap().seconds, 0).unwrap()
            + chrono::Duration::milliseconds(index as i64);
        let row = NewMeasurement {
            sensor_id: case.sensor_id.clone(),
            measured_at: at,
            celsius: case.celsius,
            ingested_at: at,
        };
        let inserted = testkit::rows::insert(&mut connection, &[row]).await;
        match case.table {
            Accepts => assert_eq!(inserted, Ok(1), "table: {what}"),
            Refuses(field) => {
                let error = inserted
                    .expect_err(&format!("table: {what}: stored"))
                    .to_string();
                // The CHECK constraint named after the field, or the column's own type.
                let because = match field {
                    "sensor_id" => ["measurements_sensor_id_format", "character varying(64)"],
                    _ => ["measurements_celsius_finite"; 2],
                };
                assert!(
                    because.iter().any(|b| error.contains(b)),
                    "table: {what}: refused for another reason: {error}"
                );
            }
        }
    }
    ingest.stop().await;
}
