//! `sensor_summaries` (what `ListSensors` reads) kept by the saver: per sensor, the rows a
//! transaction inserted, aggregated here and added to the sensor's summary row by the same
//! transaction, so the summary commits or rolls back with the rows it counts. The saver knows
//! exactly which rows those are: all of a `COPY` that succeeded, the rows `ON CONFLICT DO NOTHING`
//! returned. A trigger could do this inside PostgreSQL, but its transition table copies every
//! inserted row once more (migration `sensor_summaries_by_writers`); here only one row per
//! sensor travels.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Statement};

/// Adds one aggregate per sensor. `saved_at` is `now()`, the transaction's start, which is what
/// the rows' `saved_at` default gave them. The latest reading changes only for a strictly later
/// `measured_at`: one sensor never has two rows at the same instant (the primary key).
///
/// Upserted in bytewise `sensor_id` order: two transactions adding to the same sensors (two
/// savers during a rebalance) take the summary rows' locks in the same order, so one waits for
/// the other rather than both deadlocking.
pub const ADD: &str = "\
INSERT INTO sensor_summaries AS s (sensor_id, measured_at, celsius, ingested_at, saved_at,
                                   measurement_count, first_measured_at)
SELECT sensor_id, measured_at, celsius, ingested_at, now(), n, first
  FROM unnest($1::varchar[], $2::timestamptz[], $3::float8[], $4::timestamptz[], $5::int8[],
              $6::timestamptz[]) AS a (sensor_id, measured_at, celsius, ingested_at, n, first)
 ORDER BY sensor_id COLLATE \"C\"
ON CONFLICT (sensor_id) DO UPDATE SET
    measurement_count = s.measurement_count + excluded.measurement_count,
    first_measured_at = least(s.first_measured_at, excluded.first_measured_at),
    measured_at = greatest(s.measured_at, excluded.measured_at),
    celsius = CASE WHEN excluded.measured_at > s.measured_at
                   THEN excluded.celsius ELSE s.celsius END,
    ingested_at = CASE WHEN excluded.measured_at > s.measured_at
                       THEN excluded.ingested_at ELSE s.ingested_at END,
    saved_at = CASE WHEN excluded.measured_at > s.measured_at
                    THEN excluded.saved_at ELSE s.saved_at END";

/// One sensor's inserted rows: how many, the first instant, and the latest row's columns.
struct Aggregate {
    count: i64,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    celsius: f64,
    ingested_at: DateTime<Utc>,
}

/// The aggregates of the rows one transaction inserted, by sensor.
#[derive(Default)]
pub struct Summary<'a> {
    sensors: HashMap<&'a str, Aggregate>,
}

impl<'a> Summary<'a> {
    /// Counts one inserted row.
    pub fn add(
        &mut self,
        sensor_id: &'a str,
        measured_at: DateTime<Utc>,
        celsius: f64,
        ingested_at: DateTime<Utc>,
    ) {
        let aggregate = self.sensors.entry(sensor_id).or_insert(Aggregate {
            count: 0,
            first: measured_at,
            last: measured_at,
            celsius,
            ingested_at,
        });
        aggregate.count += 1;
        aggregate.first = aggregate.first.min(measured_at);
        if measured_at > aggregate.last {
            aggregate.last = measured_at;
            aggregate.celsius = celsius;
            aggregate.ingested_at = ingested_at;
        }
    }

    /// Adds the aggregates to `sensor_summaries` through `client`, a transaction that inserted
    /// the rows; `add` is [`ADD`] prepared.
    pub async fn store(
        &self,
        client: &impl GenericClient,
        add: &Statement,
    ) -> Result<(), tokio_postgres::Error> {
        if self.sensors.is_empty() {
            return Ok(());
        }
        let n = self.sensors.len();
        let (mut ids, mut last, mut celsius, mut ingested, mut count, mut first) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (sensor_id, aggregate) in &self.sensors {
            ids.push(*sensor_id);
            last.push(aggregate.last);
            celsius.push(aggregate.celsius);
            ingested.push(aggregate.ingested_at);
            count.push(aggregate.count);
            first.push(aggregate.first);
        }
        client
            .execute(add, &[&ids, &last, &celsius, &ingested, &count, &first])
            .await?;
        Ok(())
    }
}
