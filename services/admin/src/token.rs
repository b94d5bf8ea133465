//! Page tokens and watch cursors: opaque to clients, but each says where to resume and, for page
//! tokens, for which question it was issued, so a token reused with other filters is refused
//! instead of silently answering a different question.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Where the next page of `ListMeasurements` starts: after this row, for these filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementsToken {
    #[serde(rename = "t")]
    pub measured_at: DateTime<Utc>,
    #[serde(rename = "s")]
    pub sensor_id: String,
    #[serde(rename = "f")]
    pub filter: Filter,
}

/// The filters of a `ListMeasurements` question, bounds rounded as the query uses them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Filter {
    #[serde(rename = "s", skip_serializing_if = "Option::is_none", default)]
    pub sensor_id: Option<String>,
    #[serde(rename = "a", skip_serializing_if = "Option::is_none", default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(rename = "b", skip_serializing_if = "Option::is_none", default)]
    pub end: Option<DateTime<Utc>>,
}

/// Where the next page of `ListSensors` starts: after this sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorsToken {
    #[serde(rename = "after")]
    pub sensor_id: String,
}

/// A row's place in the save order: the saving transaction, then the primary key (bytewise, so
/// Rust and PostgreSQL agree whatever the database's collation). The derived order is that order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "x")]
    pub xid: u64,
    #[serde(rename = "s")]
    pub sensor_id: String,
    #[serde(rename = "t")]
    pub measured_at: DateTime<Utc>,
}

impl Position {
    /// Before every row saved by transaction `xid` or later: the empty id sorts before every
    /// real one, so the time does not matter.
    pub fn start_of(xid: u64) -> Self {
        Self {
            xid,
            sensor_id: String::new(),
            measured_at: DateTime::UNIX_EPOCH,
        }
    }
}

/// Tags keep a token of one kind from being accepted as another.
const MEASUREMENTS: &str = "m1";
const SENSORS: &str = "s1";
const CURSOR: &str = "c1";

#[derive(Serialize, Deserialize)]
struct Tagged<T> {
    k: String,
    #[serde(flatten)]
    v: T,
}

fn encode<T: Serialize>(kind: &str, value: T) -> String {
    let tagged = Tagged {
        k: kind.to_owned(),
        v: value,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tagged).expect("a token serializes"))
}

/// `None` for anything this service did not issue as `kind`.
fn decode<T: DeserializeOwned>(kind: &str, token: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let tagged: Tagged<T> = serde_json::from_slice(&bytes).ok()?;
    (tagged.k == kind).then_some(tagged.v)
}

impl MeasurementsToken {
    pub fn encode(&self) -> String {
        encode(MEASUREMENTS, self)
    }
    pub fn decode(token: &str) -> Option<Self> {
        decode(MEASUREMENTS, token)
    }
}

impl SensorsToken {
    pub fn encode(&self) -> String {
        encode(SENSORS, self)
    }
    pub fn decode(token: &str) -> Option<Self> {
        decode(SENSORS, token)
    }
}

impl Position {
    pub fn encode(&self) -> String {
        encode(CURSOR, self)
    }
    pub fn decode(token: &str) -> Option<Self> {
        decode(CURSOR, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, micros: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, micros * 1000).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_are_url_safe() {
        let token = MeasurementsToken {
            measured_at: at(1_700_000_000, 123_456),
            sensor_id: "s:1".into(),
            filter: Filter {
                sensor_id: Some("s:1".into()),
                start: Some(at(1_600_000_000, 0)),
                end: None,
            },
        };
        let text = token.encode();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(MeasurementsToken::decode(&text), Some(token));
        let cursor = Position {
            xid: 42,
            sensor_id: "a".into(),
            measured_at: at(1, 1),
        };
        assert_eq!(Position::decode(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn a_token_of_another_kind_or_garbage_is_refused() {
        let sensors = SensorsToken {
            sensor_id: "a".into(),
        }
        .encode();
        assert_eq!(MeasurementsToken::decode(&sensors), None);
        assert_eq!(Position::decode(&sensors), None);
        assert_eq!(SensorsToken::decode("not a token"), None);
        assert_eq!(SensorsToken::decode(""), None);
    }

    #[test]
    fn start_of_a_transaction_sorts_before_its_rows_and_after_older_ones() {
        let row = |xid, id: &str| Position {
            xid,
            sensor_id: id.into(),
            measured_at: at(0, 0),
        };
        assert!(Position::start_of(5) < row(5, "-"));
        assert!(Position::start_of(5) > row(4, "zzz"));
        assert!(row(5, "A") < row(5, "a"));
    }
}
