//! The shared local stack (`scripts/stack start`): endpoints from the same environment variables
//! the services read, a fresh topic or database per test, and one clear line naming the command to
//! run when Kafka or PostgreSQL is not there.

use std::time::Duration;

use diesel::sql_query;
use diesel_async::RunQueryDsl;
use rdkafka::{
    ClientConfig,
    consumer::{BaseConsumer, Consumer},
};
use sensorpipe::config::{DEFAULT_DATABASE_URL, DEFAULT_KAFKA_BROKERS, redact_password};

use crate::unique_name;

/// The command that starts Kafka and PostgreSQL for tests.
pub const START_STACK: &str = "scripts/stack start";

/// `KAFKA_BROKERS`, or the local stack's default.
pub fn kafka_brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| DEFAULT_KAFKA_BROKERS.to_owned())
}

/// `DATABASE_URL`, or the local stack's default. Tests create their own databases next to it.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// Panics with one line naming [`START_STACK`] unless a broker answers a metadata request.
pub async fn require_kafka() -> String {
    let brokers = kafka_brokers();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &brokers);
    if let Err(error) = answers_metadata(config).await {
        panic!("Kafka is not reachable at {brokers} ({error}): start it with `{START_STACK}`");
    }
    brokers
}

/// Whether a client with `config` gets an answer to a metadata request within 10 s.
pub(crate) async fn answers_metadata(config: ClientConfig) -> Result<(), String> {
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config.create().map_err(|e| e.to_string())?;
        consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await
    .expect("metadata probe panicked")
}

/// A fresh topic with `partitions` partitions on the test broker: `(brokers, topic)`.
pub async fn fresh_topic(prefix: &str, partitions: i32) -> (String, String) {
    let brokers = require_kafka().await;
    let topic = unique_name(prefix);
    sensorpipe::kafka::create_topic(&brokers, &topic, partitions)
        .await
        .unwrap_or_else(|e| panic!("cannot create topic {topic}: {e}"));
    (brokers, topic)
}

/// Creates an empty database named after `prefix`, applies the migrations and returns its URL.
/// Panics with one line naming [`START_STACK`] when PostgreSQL is not reachable.
pub async fn fresh_database(prefix: &str) -> String {
    let base = database_url();
    let mut admin = match sensorpipe::db::connect(&base).await {
        Ok(connection) => connection,
        Err(error) => panic!("{error}: start it with `{START_STACK}`"),
    };
    let name = unique_name(prefix).replace('-', "_");
    sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    let url = with_database(&base, &name);
    sensorpipe::db::run_migrations(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot migrate {}: {e}", redact_password(&url)));
    url
}

/// The same server and credentials, another database.
fn with_database(url: &str, database: &str) -> String {
    let (server, query) = match url.split_once('?') {
        Some((server, query)) => (server, Some(query)),
        None => (url, None),
    };
    let server = server.rsplit_once('/').map_or(server, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn with_database_swaps_only_the_database() {
        assert_eq!(
            super::with_database("postgres://u:p@h:1/cloud_db?sslmode=disable", "t1"),
            "postgres://u:p@h:1/t1?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h:1/cloud_db", "t1"),
            "postgres://u:p@h:1/t1"
        );
    }
}
