//! Connections: a pool for services, a single connection for tools and tests.

use diesel_async::{
    AsyncConnection, AsyncPgConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool},
};

use crate::config::redact_password;

/// The connection pool every service uses.
pub type Pool = deadpool::Pool<AsyncPgConnection>;
pub use deadpool::BuildError as PoolError;

/// A pool of at most `max_size` connections; connections are opened lazily, on first use.
///
/// Connections are handed out without a test query first (`RecyclingMethod::Fast`): the default
/// check costs a round trip per checkout, a quarter of a short query's throughput. A connection
/// that died fails its next query once and is then dropped as broken.
pub fn create_pool(database_url: &str, max_size: usize) -> Result<Pool, PoolError> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager).max_size(max_size).build()
}

/// One connection. The error names the server (never the password) so a failure says where.
pub async fn connect(database_url: &str) -> Result<AsyncPgConnection, ConnectError> {
    <AsyncPgConnection as AsyncConnection>::establish(database_url)
        .await
        .map_err(|source| ConnectError {
            url: redact_password(database_url),
            source,
        })
}

/// PostgreSQL refused or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to PostgreSQL at {url}: {source}")]
pub struct ConnectError {
    pub url: String,
    pub source: diesel::ConnectionError,
}
