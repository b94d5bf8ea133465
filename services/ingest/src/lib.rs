//! The ingest service: readings come in over gRPC; valid ones go to Kafka topic `temperatures`.
//!
//! So far it serves gRPC health and reflection; `IngestService` itself arrives with the ingest
//! issue. `main` only wires [`Config`] to [`Application`], so tests run the same code on port 0.
#![deny(rust_2018_idioms)]
#![forbid(unsafe_code)]

mod config;

use std::{future::Future, net::SocketAddr};

use sensorpipe::grpc;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use config::Config;

/// A bound, not yet serving ingest service.
pub struct Application {
    listener: TcpListener,
    routes: Routes,
}

impl Application {
    /// Binds the listener (so [`Application::local_addr`] is known before serving) and builds the
    /// routes.
    pub async fn build(config: Config) -> Result<Self, grpc::Error> {
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

    /// Serves until `shutdown` resolves, then drains in-flight calls.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), grpc::Error> {
        tracing::info!(addr = %self.local_addr(), "ingest listening");
        grpc::serve(self.listener, self.routes, shutdown).await
    }
}
