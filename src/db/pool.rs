//! Connections: a pool for services, a single connection for tools and tests.

use diesel_async::{
    AsyncConnection, AsyncPgConnection, SimpleAsyncConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool},
};

use crate::config::redact_password;

/// The connection pool every service uses.
pub type Pool = deadpool::Pool<AsyncPgConnection>;
pub use deadpool::BuildError as PoolError;

/// A pool of at most `max_size` connections, opened lazily, on first use; each runs
/// `session_sql` (settings such as `SET plan_cache_mode = ...`, or nothing when empty) once when
/// it opens.
///
/// Connections are handed out without a test query first (`RecyclingMethod::Fast`): the default
/// check costs a round trip per checkout. A connection that died fails its next query once and is
/// then dropped as broken.
pub fn create_pool(
    database_url: &str,
    max_size: usize,
    session_sql: &'static str,
) -> Result<Pool, PoolError> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        Box::pin(async move {
            let mut connection = <AsyncPgConnection as AsyncConnection>::establish(&url).await?;
            if !session_sql.is_empty() {
                connection
                    .batch_execute(session_sql)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            }
            Ok(connection)
        })
    });
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
