//! The schema lives in `migrations/` and is compiled into every binary that touches the database,
//! so a deployed service can bring its database up to date with nothing else installed.

use diesel_async::AsyncMigrationHarness;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::pool::{ConnectError, connect};

/// Every migration in `migrations/`.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("migration failed: {0}")]
    Migration(Box<dyn std::error::Error + Send + Sync>),
}

/// Applies the pending migrations and returns the versions it applied (empty when up to date).
/// Needs a multi-thread tokio runtime: the harness blocks in place on diesel's sync migrator.
pub async fn run_migrations(database_url: &str) -> Result<Vec<String>, MigrateError> {
    let connection = connect(database_url).await?;
    let mut harness = AsyncMigrationHarness::new(connection);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map_err(MigrateError::Migration)?;
    Ok(applied.iter().map(ToString::to_string).collect())
}
