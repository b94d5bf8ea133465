//! Writing a batch of rows: one statement, `ON CONFLICT DO NOTHING` on `(sensor_id,
//! measured_at)`, so a record seen twice (redelivery, resend, restart) is stored once.
//!
//! The rows travel as four arrays through `unnest`: four bind parameters whatever the batch size
//! (PostgreSQL allows 65,535 per statement, which a multi-row VALUES would reach at 16,383 rows),
//! and one short statement for the server to parse.

use chrono::{DateTime, Utc};
use diesel::{
    sql_query,
    sql_types::{Array, Float8, Timestamptz, Varchar},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sensorpipe::db::{self, NewMeasurement};

use crate::error::{DatabaseError, Error, Reject};

const INSERT: &str = "INSERT INTO measurements (sensor_id, measured_at, celsius, ingested_at) \
     SELECT * FROM unnest($1::varchar[], $2::timestamptz[], $3::float8[], $4::timestamptz[]) \
     ON CONFLICT (sensor_id, measured_at) DO NOTHING";

/// What became of a batch.
#[derive(Debug, Default)]
pub struct Stored {
    /// Rows newly inserted; the others were already there.
    pub inserted: usize,
    /// Rows the database refused, by index into the batch, with its reason.
    pub refused: Vec<(usize, Reject)>,
}

/// Several connections writing parts of one batch at once. PostgreSQL runs one backend process
/// per connection, and on this machine one backend maintaining the table's two indexes is the
/// bottleneck (about 85k rows/s); two share the CPU better (about 140k rows/s, measured with
/// `INSERT ... SELECT`). A batch is split by sensor, so each part touches its own key range.
pub struct Writers {
    writers: Vec<Writer>,
}

impl Writers {
    pub fn new(database_url: &str, count: usize) -> Self {
        Self {
            writers: (0..count.max(1))
                .map(|_| Writer::new(database_url.to_owned()))
                .collect(),
        }
    }

    /// Stores `rows` through every connection at once. Fails if any part fails: the caller
    /// retries the whole batch, and the parts already stored are skipped as duplicates then.
    pub async fn store(&mut self, rows: &[NewMeasurement]) -> Result<Stored, Error> {
        let count = self.writers.len();
        if count == 1 {
            return self.writers[0].store(rows).await;
        }
        let mut parts: Vec<(Vec<usize>, Vec<NewMeasurement>)> = vec![Default::default(); count];
        for (index, row) in rows.iter().enumerate() {
            let part = &mut parts[part_of(&row.sensor_id, count)];
            part.0.push(index);
            part.1.push(row.clone());
        }
        let results = futures::future::join_all(
            self.writers
                .iter_mut()
                .zip(&parts)
                .map(|(writer, (_, part))| writer.store(part)),
        )
        .await;
        let mut stored = Stored::default();
        for (result, (origin, _)) in results.into_iter().zip(&parts) {
            let part = result?;
            stored.inserted += part.inserted;
            stored
                .refused
                .extend(part.refused.into_iter().map(|(i, e)| (origin[i], e)));
        }
        Ok(stored)
    }
}

/// A stable part for a sensor (FNV-1a), so one sensor's rows always go through one connection.
fn part_of(sensor_id: &str, parts: usize) -> usize {
    let hash = sensor_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (hash % parts as u64) as usize
}

pub struct Writer {
    database_url: String,
    connection: Option<AsyncPgConnection>,
}

impl Writer {
    pub fn new(database_url: String) -> Self {
        Self {
            database_url,
            connection: None,
        }
    }

    /// Stores `rows` in one statement. If it fails while the server is fine, the rows are the
    /// problem: they are tried one by one so the bad ones are named and the good ones stored.
    /// Fails with [`Error::DatabaseUnavailable`] when the server is the problem.
    pub async fn store(&mut self, rows: &[NewMeasurement]) -> Result<Stored, Error> {
        if rows.is_empty() {
            return Ok(Stored::default());
        }
        let error = match self.insert(rows).await {
            Ok(inserted) => {
                return Ok(Stored {
                    inserted,
                    refused: Vec::new(),
                });
            }
            Err(error) => error,
        };
        self.blame_rows(error).await?;
        let mut stored = Stored::default();
        for (index, row) in rows.iter().enumerate() {
            match self.insert(std::slice::from_ref(row)).await {
                Ok(inserted) => stored.inserted += inserted,
                Err(error) => {
                    let error = self.blame_rows(error).await?;
                    stored.refused.push((index, Reject::Database(error)));
                }
            }
        }
        Ok(stored)
    }

    async fn insert(&mut self, rows: &[NewMeasurement]) -> Result<usize, DatabaseError> {
        let connection = self.connection().await?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut measured = Vec::with_capacity(rows.len());
        let mut celsius = Vec::with_capacity(rows.len());
        let mut ingested: Vec<DateTime<Utc>> = Vec::with_capacity(rows.len());
        for row in rows {
            ids.push(row.sensor_id.as_str());
            measured.push(row.measured_at);
            celsius.push(row.celsius);
            ingested.push(row.ingested_at);
        }
        let inserted = sql_query(INSERT)
            .bind::<Array<Varchar>, _>(ids)
            .bind::<Array<Timestamptz>, _>(measured)
            .bind::<Array<Float8>, _>(celsius)
            .bind::<Array<Timestamptz>, _>(ingested)
            .execute(connection)
            .await?;
        Ok(inserted)
    }

    async fn connection(&mut self) -> Result<&mut AsyncPgConnection, DatabaseError> {
        if self.connection.is_none() {
            let connection = db::connect(&self.database_url).await?;
            self.connection = Some(connection);
        }
        Ok(self.connection.as_mut().expect("just set"))
    }

    /// After a failed statement: is the server fine, so the rows were at fault (`error` comes
    /// back to be their reason)? A fresh connection answering `SELECT 1` says yes; anything else
    /// means PostgreSQL is unavailable.
    async fn blame_rows(&mut self, error: DatabaseError) -> Result<DatabaseError, Error> {
        self.connection = None;
        let probe = async {
            let connection = self.connection().await?;
            sql_query("SELECT 1").execute(connection).await?;
            Ok::<_, DatabaseError>(())
        };
        match probe.await {
            Ok(()) => Ok(error),
            Err(probe) => {
                self.connection = None;
                Err(Error::DatabaseUnavailable { error, probe })
            }
        }
    }
}
