//! PostgreSQL in one place: the `measurements` schema, the row types, the connection pool and the
//! embedded migrations that are the only way the schema changes.

mod migrate;
mod models;
mod pool;
pub mod schema;

pub use migrate::{MIGRATIONS, MigrateError, run_migrations};
pub use models::{Measurement, NewMeasurement, RecordError, to_timestamp};
pub use pool::{ConnectError, Pool, PoolError, connect, create_pool};
