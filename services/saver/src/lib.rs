//! The saver: consumes Kafka topic `temperatures` and writes table `measurements`.
//!
//! So far it owns the schema (embedded migrations, applied by `saver migrate` and at start) and
//! serves gRPC health; consuming arrives with the persist issue.
#![deny(rust_2018_idioms)]
#![forbid(unsafe_code)]

mod config;

use std::{future::Future, net::SocketAddr};

use sensorpipe::{config::redact_password, db, grpc};
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use config::{Command, Config};

/// Why the saver could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Migrate(#[from] db::MigrateError),
    #[error(transparent)]
    Grpc(#[from] grpc::Error),
}

/// Brings the database schema up to date; logs what it applied.
pub async fn migrate(config: &Config) -> Result<(), Error> {
    let url = &config.database.database_url;
    let applied = db::run_migrations(url).await?;
    tracing::info!(database = %redact_password(url), applied = ?applied, "schema up to date");
    Ok(())
}

/// A bound, not yet serving saver.
pub struct Application {
    listener: TcpListener,
    routes: Routes,
}

impl Application {
    /// Migrates the database, then binds the listener.
    pub async fn build(config: Config) -> Result<Self, Error> {
        migrate(&config).await?;
        let listener = grpc::bind(config.listen_addr).await?;
        let (routes, _health) = grpc::standard_routes().await?;
        Ok(Self {
            listener,
            routes: routes.routes(),
        })
    }

    /// Where it listens; with port 0 in the config this is the port the OS picked.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        tracing::info!(addr = %self.local_addr(), "saver listening");
        grpc::serve(self.listener, self.routes, shutdown).await?;
        Ok(())
    }
}
