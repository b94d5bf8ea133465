//! The JSON shapes of the HTTP face, written straight from the stored rows into one buffer: no
//! intermediate `String` per field or `Value` per row. A page of 100 rows is ~17 KB holding 300
//! timestamps, so per-row allocation and chrono's general formatter were most of the admin's own
//! work per HTTP call (see docs/performance.md, Admin).

use axum::body::Bytes;
use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use sensorpipe::db::Measurement;
use serde::{Serialize, Serializer};

use crate::{service::Page, store::SensorRow};

/// A stored measurement; times are RFC 3339 in UTC with microseconds.
#[derive(Debug, Serialize)]
pub struct MeasurementJson<'a> {
    sensor_id: &'a str,
    measured_at: Rfc3339,
    celsius: f64,
    ingested_at: Rfc3339,
    saved_at: Rfc3339,
}

impl<'a> From<&'a Measurement> for MeasurementJson<'a> {
    fn from(row: &'a Measurement) -> Self {
        Self {
            sensor_id: &row.sensor_id,
            measured_at: Rfc3339(row.measured_at),
            celsius: row.celsius,
            ingested_at: Rfc3339(row.ingested_at),
            saved_at: Rfc3339(row.saved_at),
        }
    }
}

#[derive(Serialize)]
struct MeasurementsJson<'a> {
    #[serde(serialize_with = "rows")]
    measurements: &'a [Measurement],
    next_page_token: &'a str,
}

#[derive(Serialize)]
struct SensorJson<'a> {
    sensor_id: &'a str,
    latest: MeasurementJson<'a>,
    measurement_count: i64,
}

#[derive(Serialize)]
struct SensorsJson<'a> {
    sensors: Vec<SensorJson<'a>>,
    next_page_token: &'a str,
}

/// Bytes per row of a measurements page (~170 in practice), so the buffer rarely grows.
const ROW_BYTES: usize = 192;

/// `GET /measurements`'s body.
pub fn measurements_page(page: &Page<Measurement>) -> Bytes {
    let mut out = Vec::with_capacity(64 + ROW_BYTES * page.items.len());
    serde_json::to_writer(
        &mut out,
        &MeasurementsJson {
            measurements: &page.items,
            next_page_token: &page.next_page_token,
        },
    )
    .expect("our JSON serializes");
    out.into()
}

/// `GET /sensors`'s body.
pub fn sensors_page(page: Page<SensorRow>) -> Bytes {
    let rows: Vec<(Measurement, i64)> = page
        .items
        .into_iter()
        .map(|row| (row.latest.into(), row.measurement_count))
        .collect();
    let sensors = rows
        .iter()
        .map(|(latest, measurement_count)| SensorJson {
            sensor_id: &latest.sensor_id,
            latest: latest.into(),
            measurement_count: *measurement_count,
        })
        .collect();
    let body = SensorsJson {
        sensors,
        next_page_token: &page.next_page_token,
    };
    serde_json::to_vec(&body)
        .expect("our JSON serializes")
        .into()
}

/// A finished body as a response, with the content type axum's `Json` would give it.
pub fn response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn rows<S: Serializer>(rows: &[Measurement], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(rows.iter().map(MeasurementJson::from))
}

/// A time as `2026-11-27T10:00:00.000000Z`, what chrono's `to_rfc3339_opts(Micros, true)` writes,
/// formatted on the stack: chrono's formatter costs about as much as the rest of a row.
#[derive(Debug, Clone, Copy)]
struct Rfc3339(DateTime<Utc>);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 27];
        match format_micros(self.0, &mut text) {
            Some(text) => serializer.serialize_str(text),
            // Years before 0 or after 9999, and leap seconds: chrono's own spelling.
            None => serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true)),
        }
    }
}

/// The fixed-width form, or `None` where it would differ from chrono's.
fn format_micros(at: DateTime<Utc>, out: &mut [u8; 27]) -> Option<&str> {
    let t = at.naive_utc();
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    *out = *b"0000-00-00T00:00:00.000000Z";
    digits(&mut out[0..4], year);
    digits(&mut out[5..7], t.month());
    digits(&mut out[8..10], t.day());
    digits(&mut out[11..13], t.hour());
    digits(&mut out[14..16], t.minute());
    digits(&mut out[17..19], t.second());
    digits(&mut out[20..26], nanos / 1000);
    std::str::from_utf8(out).ok()
}

/// `value` in decimal, right-aligned and zero-padded to the slice's width.
fn digits(out: &mut [u8], mut value: u32) {
    for place in out.iter_mut().rev() {
        *place = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn chrono_text(at: DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    fn ours(at: DateTime<Utc>) -> String {
        serde_json::to_value(Rfc3339(at))
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn times_read_as_chrono_writes_them() {
        let mut times = vec![
            DateTime::UNIX_EPOCH,
            Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::microseconds(999_999),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            // Outside the fixed width: chrono's own spelling.
            Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(200_000, 12, 31, 23, 59, 59).unwrap(),
        ];
        // Every month, day and time of day, with sub-microsecond parts cut off as chrono does.
        let mut at = Utc.with_ymd_and_hms(1999, 12, 25, 1, 2, 3).unwrap();
        for step in 0..5000i64 {
            at += chrono::Duration::nanoseconds(86_400_000_000_000 / 7 + step * 1_234_567);
            times.push(at);
        }
        for at in times {
            assert_eq!(ours(at), chrono_text(at), "{at:?}");
        }
    }

    #[test]
    fn a_page_reads_as_the_serde_shape_it_replaces() {
        let row = Measurement {
            sensor_id: "lab-1".into(),
            measured_at: Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap(),
            celsius: 21.5,
            ingested_at: Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 1).unwrap(),
            saved_at: Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 2).unwrap()
                + chrono::Duration::microseconds(7),
        };
        let page = Page {
            items: vec![row.clone(), row],
            next_page_token: "abc".into(),
        };
        let body = measurements_page(&page);
        let one = r#"{"sensor_id":"lab-1","measured_at":"2026-11-27T10:00:00.000000Z","celsius":21.5,"ingested_at":"2026-11-27T10:00:01.000000Z","saved_at":"2026-11-27T10:00:02.000007Z"}"#;
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            format!(r#"{{"measurements":[{one},{one}],"next_page_token":"abc"}}"#)
        );
    }
}
