//! What goes wrong in the saver, typed, so callers can tell a failure to retry from a record to
//! dead-letter, and the messages keep naming where it failed (flag, Kafka, PostgreSQL, decode).

use rdkafka::error::KafkaError;
use sensorpipe::{
    db::{self, RecordError},
    grpc,
};

/// Why the saver could not start, stopped, or could not store a batch (which is then retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Migrate(#[from] db::MigrateError),
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// Kafka did not confirm a dead letter, so its record's offset must not be committed.
    #[error("dead-letter topic: {0}")]
    DeadLetters(#[source] KafkaError),
    /// The statement failed and so did a fresh connection: the server, not the rows, is at fault.
    #[error("PostgreSQL unavailable: {error} (then: {probe})")]
    DatabaseUnavailable {
        error: DatabaseError,
        probe: DatabaseError,
    },
    #[error(transparent)]
    Grpc(#[from] grpc::Error),
}

/// One statement or connection attempt that PostgreSQL failed.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The error names the server (never the password) so a failure says where.
    #[error("cannot connect to PostgreSQL at {url}: {}", describe(.source))]
    Connect {
        url: String,
        source: tokio_postgres::Error,
    },
    #[error("{}", describe(.0))]
    Query(#[from] tokio_postgres::Error),
}

/// What PostgreSQL said (the constraint a row violates, for its dead letter), or what failed on
/// the way: tokio-postgres shows only the kind of error and keeps the rest in its source.
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// Why one record cannot be stored. It goes to the dead-letter topic with this message and
/// [`Reject::kind`] as headers, and its offset is committed like any other.
#[derive(Debug, thiserror::Error)]
pub enum Reject {
    /// Not a `ReadingRecord` at all.
    #[error("not a ReadingRecord: {0}")]
    Decode(#[from] prost::DecodeError),
    /// A `ReadingRecord` the table cannot hold (bad sensor id, NaN, missing timestamp).
    #[error(transparent)]
    Invalid(#[from] RecordError),
    /// Refused by PostgreSQL itself while the server was fine.
    #[error(transparent)]
    Database(DatabaseError),
}

impl Reject {
    /// The `kind` label of the dead-letter metric and the `sensorpipe.error.kind` header.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Decode(_) => "decode",
            Self::Invalid(_) => "invalid",
            Self::Database(_) => "database",
        }
    }
}
