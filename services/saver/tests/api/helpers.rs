//! A saver of the test's own (topic, dead-letter topic, group, database), records to feed it, and
//! ways to watch it finish.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, Utc};
use diesel::{QueryDsl, SelectableHelper, dsl::count_star};
use diesel_async::RunQueryDsl;
use prost_types::Timestamp;
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
    producer::{FutureProducer, FutureRecord},
};
use sensorpipe::{
    db::{self, Measurement, schema::measurements},
    kafka,
    proto::v1::ReadingRecord,
};
use testkit::{LISTEN_ON_PORT_0, RunningService};

/// Where a test's saver reads and writes.
#[derive(Clone)]
pub struct Setup {
    pub brokers: String,
    pub topic: String,
    pub dlq: String,
    pub group: String,
    pub database_url: String,
}

impl Setup {
    /// A fresh topic with `partitions`, a fresh dead-letter topic, group and migrated database.
    pub async fn new(partitions: i32) -> Self {
        Self::on_database(partitions, testkit::fresh_database("saver").await).await
    }

    /// A fresh topic with `partitions`, a fresh dead-letter topic and group, writing to the
    /// migrated database at `database_url`.
    pub async fn on_database(partitions: i32, database_url: String) -> Self {
        let (brokers, topic) = testkit::fresh_topic("saver", partitions).await;
        let dlq = format!("{topic}.dlq");
        kafka::create_topic(&brokers, &dlq, 1).await.unwrap();
        Self {
            brokers,
            topic,
            dlq,
            group: testkit::unique_name("saver-group"),
            database_url,
        }
    }

    /// The flags that point a saver at this setup.
    pub fn args(&self) -> Vec<String> {
        [
            "--kafka-brokers",
            &self.brokers,
            "--kafka-topic",
            &self.topic,
            "--kafka-dlq-topic",
            &self.dlq,
            "--group-id",
            &self.group,
            "--database-url",
            &self.database_url,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Publishes raw values keyed by `key`, concurrently, and waits until Kafka has them all.
    pub async fn produce_raw(&self, values: &[(String, Vec<u8>)]) {
        let producer: FutureProducer = kafka::create_producer(&self.brokers).unwrap();
        for chunk in values.chunks(10_000) {
            let sends = chunk.iter().map(|(key, value)| {
                producer.send(
                    FutureRecord::to(&self.topic)
                        .key(key.as_str())
                        .payload(value.as_slice()),
                    Duration::from_secs(30),
                )
            });
            for result in futures::future::join_all(sends).await {
                result.expect("Kafka confirms the record");
            }
        }
    }

    pub async fn produce(&self, records: &[ReadingRecord]) {
        let values: Vec<(String, Vec<u8>)> = records
            .iter()
            .map(|r| (r.sensor_id.clone(), kafka::encode_record(r)))
            .collect();
        self.produce_raw(&values).await;
    }

    pub async fn count_rows(&self) -> i64 {
        let mut connection = db::connect(&self.database_url).await.unwrap();
        measurements::table
            .select(count_star())
            .first(&mut connection)
            .await
            .unwrap()
    }

    pub async fn rows(&self) -> Vec<Measurement> {
        let mut connection = db::connect(&self.database_url).await.unwrap();
        measurements::table
            .select(Measurement::as_select())
            .load(&mut connection)
            .await
            .unwrap()
    }

    /// Offsets the group has committed, summed over partitions, and the topic's end, summed.
    pub fn committed_and_end(&self) -> (i64, i64) {
        let consumer: BaseConsumer = kafka::consumer_config(&self.brokers, &self.group)
            .create()
            .unwrap();
        let metadata = consumer
            .fetch_metadata(Some(&self.topic), Duration::from_secs(10))
            .unwrap();
        let mut partitions = TopicPartitionList::new();
        let mut end = 0;
        for p in metadata.topics()[0].partitions() {
            partitions.add_partition(&self.topic, p.id());
            end += consumer
                .fetch_watermarks(&self.topic, p.id(), Duration::from_secs(10))
                .unwrap()
                .1;
        }
        let committed = consumer
            .committed_offsets(partitions, Duration::from_secs(10))
            .unwrap()
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .sum();
        (committed, end)
    }

    /// Waits until every record is handled and committed, and the table holds `rows` rows.
    pub async fn wait_until_done(&self, rows: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let (committed, end) = self.committed_and_end();
            let count = self.count_rows().await;
            if committed == end && count == rows {
                return;
            }
            assert!(count <= rows, "more rows than readings: {count} > {rows}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "not done after 120 s: {count}/{rows} rows, committed {committed}/{end}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every record is handled and committed, then asserts that the table holds
    /// exactly `distinct`, row for row and column for column.
    pub async fn assert_stored_exactly(&self, distinct: &[ReadingRecord]) {
        self.wait_until_done(distinct.len() as i64).await;
        assert_table_equals(&self.rows().await, &expected(distinct));
    }
}

/// A saver on port 0 pointed at `setup`, serving in a task of the test's runtime; `extra` are
/// more flags.
pub async fn start_saver(setup: &Setup, extra: &[&str]) -> RunningService<saver::Application> {
    let port_0 = LISTEN_ON_PORT_0.map(str::to_owned);
    let extra = extra.iter().map(|s| (*s).to_owned());
    RunningService::start_with_args(port_0.into_iter().chain(setup.args()).chain(extra)).await
}

pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// `n` distinct readings over `sensors` sensors, a microsecond apart per sensor, an hour ago.
pub fn readings(n: usize, sensors: usize) -> Vec<ReadingRecord> {
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 3600;
    let ts = |us: i64| {
        Some(Timestamp {
            seconds: base + us / 1_000_000,
            nanos: (us % 1_000_000) as i32 * 1000,
        })
    };
    (0..n)
        .map(|i| ReadingRecord {
            sensor_id: format!("saver-{}", i % sensors),
            measured_at: ts(i as i64),
            celsius: (i % 2000) as f64 / 10.0 - 50.0,
            ingested_at: ts(i as i64 + 500_000),
        })
        .collect()
}

/// What the table must hold for `sent`: one row per identity with its fields.
fn expected(sent: &[ReadingRecord]) -> HashMap<(String, i64), (f64, i64)> {
    let us = |t: &Option<Timestamp>| {
        let t = t.unwrap();
        t.seconds * 1_000_000 + i64::from(t.nanos / 1000)
    };
    sent.iter()
        .map(|r| {
            (
                (r.sensor_id.clone(), us(&r.measured_at)),
                (r.celsius, us(&r.ingested_at)),
            )
        })
        .collect()
}

/// The table equals `expected`, row for row and column for column.
fn assert_table_equals(rows: &[Measurement], expected: &HashMap<(String, i64), (f64, i64)>) {
    assert_eq!(rows.len(), expected.len(), "one row per distinct reading");
    for row in rows {
        let key = (row.sensor_id.clone(), micros(row.measured_at));
        let (celsius, ingested) = expected
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected row {row:?}"));
        assert_eq!(row.celsius, *celsius, "{key:?}");
        assert_eq!(micros(row.ingested_at), *ingested, "{key:?}");
        assert!(row.saved_at >= row.ingested_at, "{key:?}");
    }
}
