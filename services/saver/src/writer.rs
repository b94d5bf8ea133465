//! Writing a batch of rows so that a record seen twice (redelivery, resend, restart) is stored
//! once: a binary `COPY` when none of the rows is stored yet (the usual case), an
//! `INSERT ... ON CONFLICT DO NOTHING` when some are, and one row at a time to find the rows the
//! table refuses.
//!
//! `COPY` is the fast path because it skips what the idempotent insert pays for every row: the
//! executor's per-row work, and the speculative insertion `ON CONFLICT` needs (a probe of the
//! primary key before the insert and a confirmation after). It cannot skip a stored row: it fails
//! on the first one with a unique violation and inserts nothing, so the part is written again by
//! the idempotent insert. Either statement runs in a transaction that also adds exactly the rows
//! it inserted to `sensor_summaries` (see `summary`).
//!
//! The connections are tokio-postgres clients, not diesel's: diesel-async has no `COPY`.

use std::pin::pin;

use sensorpipe::{config::redact_password, db::NewMeasurement};
use tokio_postgres::{
    Client, NoTls, Statement, binary_copy::BinaryCopyInWriter, error::SqlState, types::Type,
};

use crate::{
    error::{DatabaseError, Error, Reject},
    metrics,
    summary::{self, Summary},
};

const COPY: &str = "COPY measurements (sensor_id, measured_at, celsius, ingested_at) \
     FROM STDIN (FORMAT binary)";
const COPY_TYPES: [Type; 4] = [
    Type::VARCHAR,
    Type::TIMESTAMPTZ,
    Type::FLOAT8,
    Type::TIMESTAMPTZ,
];

/// The rows travel as four arrays through `unnest`: four bind parameters whatever the batch size
/// (PostgreSQL allows 65,535 per statement), and one short statement for the server to parse.
const INSERT: &str = "INSERT INTO measurements (sensor_id, measured_at, celsius, ingested_at) \
     SELECT * FROM unnest($1::varchar[], $2::timestamptz[], $3::float8[], $4::timestamptz[]) \
     ON CONFLICT (sensor_id, measured_at) DO NOTHING \
     RETURNING sensor_id, measured_at, celsius, ingested_at";

/// What became of a batch.
#[derive(Debug, Default)]
pub struct Stored {
    /// Rows newly inserted; the others were already there.
    pub inserted: usize,
    /// Rows the database refused, by index into the batch, with its reason.
    pub refused: Vec<(usize, Reject)>,
}

/// Several connections writing parts of one batch at once. PostgreSQL runs one backend process
/// per connection, and one backend maintaining the table's indexes is the bottleneck; two share
/// the machine's cores. A batch is split by sensor, so each part touches its own key range.
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
    connection: Option<Connection>,
}

/// An open connection with its statements prepared once.
struct Connection {
    client: Client,
    copy: Statement,
    insert: Statement,
    add_to_summary: Statement,
}

impl Writer {
    pub fn new(database_url: String) -> Self {
        Self {
            database_url,
            connection: None,
        }
    }

    /// Stores `rows` (no key twice) by `COPY`; if that fails and the server answered, by the
    /// idempotent insert; if that fails while the server is fine, the rows are the problem: they
    /// are tried one by one so the bad ones are named and the good ones stored. Fails with
    /// [`Error::DatabaseUnavailable`] when the server is the problem.
    pub async fn store(&mut self, rows: &[NewMeasurement]) -> Result<Stored, Error> {
        if rows.is_empty() {
            return Ok(Stored::default());
        }
        let mut error = match self.copy(rows).await {
            Ok(()) => {
                return Ok(Stored {
                    inserted: rows.len(),
                    refused: Vec::new(),
                });
            }
            Err(error) => error,
        };
        if answered(&error) {
            if is_stored_already(&error) {
                metrics::COPY_FALLBACKS.inc();
            }
            match self.insert(rows).await {
                Ok(inserted) => {
                    return Ok(Stored {
                        inserted,
                        refused: Vec::new(),
                    });
                }
                Err(insert) => error = insert,
            }
        }
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

    /// All of `rows` in one `COPY` and in their sensors' summaries, or none of them.
    async fn copy(&mut self, rows: &[NewMeasurement]) -> Result<(), DatabaseError> {
        let connection = self.connection().await?;
        let transaction = connection.client.transaction().await?;
        let sink = transaction.copy_in(&connection.copy).await?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &COPY_TYPES));
        for row in rows {
            writer
                .as_mut()
                .write(&[
                    &row.sensor_id,
                    &row.measured_at,
                    &row.celsius,
                    &row.ingested_at,
                ])
                .await?;
        }
        writer.finish().await?;
        let mut summary = Summary::default();
        for row in rows {
            summary.add(
                &row.sensor_id,
                row.measured_at,
                row.celsius,
                row.ingested_at,
            );
        }
        summary
            .store(&transaction, &connection.add_to_summary)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The rows not stored yet, and them in their sensors' summaries; how many that was.
    async fn insert(&mut self, rows: &[NewMeasurement]) -> Result<usize, DatabaseError> {
        let connection = self.connection().await?;
        let transaction = connection.client.transaction().await?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut measured = Vec::with_capacity(rows.len());
        let mut celsius = Vec::with_capacity(rows.len());
        let mut ingested = Vec::with_capacity(rows.len());
        for row in rows {
            ids.push(row.sensor_id.as_str());
            measured.push(row.measured_at);
            celsius.push(row.celsius);
            ingested.push(row.ingested_at);
        }
        let inserted = transaction
            .query(&connection.insert, &[&ids, &measured, &celsius, &ingested])
            .await?;
        let mut summary = Summary::default();
        for row in &inserted {
            summary.add(row.get(0), row.get(1), row.get(2), row.get(3));
        }
        summary
            .store(&transaction, &connection.add_to_summary)
            .await?;
        transaction.commit().await?;
        Ok(inserted.len())
    }

    async fn connection(&mut self) -> Result<&mut Connection, DatabaseError> {
        if self.connection.is_none() {
            self.connection = Some(self.connect().await?);
        }
        Ok(self.connection.as_mut().expect("just set"))
    }

    async fn connect(&self) -> Result<Connection, DatabaseError> {
        let (client, connection) = tokio_postgres::connect(&self.database_url, NoTls)
            .await
            .map_err(|source| DatabaseError::Connect {
                url: redact_password(&self.database_url),
                source,
            })?;
        // Drives the socket; ends (and the client fails its next call) when the connection does.
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "PostgreSQL connection closed");
            }
        });
        let copy = client.prepare(COPY).await?;
        let insert = client.prepare(INSERT).await?;
        let add_to_summary = client.prepare(summary::ADD).await?;
        Ok(Connection {
            client,
            copy,
            insert,
            add_to_summary,
        })
    }

    /// After a failed statement: is the server fine, so the rows were at fault (`error` comes
    /// back to be their reason)? A fresh connection answering `SELECT 1` says yes; anything else
    /// means PostgreSQL is unavailable.
    async fn blame_rows(&mut self, error: DatabaseError) -> Result<DatabaseError, Error> {
        self.connection = None;
        let probe = async {
            let connection = self.connection().await?;
            connection.client.simple_query("SELECT 1").await?;
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

/// Did the server answer with an error of its own (a stored row, a refused row, a deadlock),
/// rather than the connection failing?
fn answered(error: &DatabaseError) -> bool {
    match error {
        DatabaseError::Query(error) => error.code().is_some(),
        DatabaseError::Connect { .. } => false,
    }
}

/// A row of the part is stored already (a replay): the usual reason a `COPY` fails.
fn is_stored_already(error: &DatabaseError) -> bool {
    matches!(error, DatabaseError::Query(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
}
