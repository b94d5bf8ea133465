//! The ingest service: readings come in over gRPC (`sensorpipe.v1.IngestService`) or HTTP
//! (`POST /measurements`); each is validated, the valid ones go to Kafka topic `temperatures`
//! keyed by sensor id, and a batch is acknowledged only after Kafka confirmed all of them.
//!
//! # Layout
//! - [`config`]: flags and environment variables.
//! - `validate`: the rules a reading must pass.
//! - `publisher`: the Kafka producer and the global in-flight bound.
//! - `ingestor`: one batch's way through, shared by every entry point.
//! - `grpc`, `http`: the entry points; `error`: how refusals look on each.
//! - `metrics`: what `/metrics` counts.

pub mod config;
mod error;
mod grpc;
mod http;
mod ingestor;
mod metrics;
mod publisher;
mod validate;

use std::{sync::Arc, time::Duration};

use axum::http::Method;
use sensorpipe::{
    auth::{
        Authenticator, Need,
        guard::{self, Access},
    },
    grpc as server,
    proto::v1::ingest_service_server::{IngestServiceServer, SERVICE_NAME},
    service::{Service, Shutdown},
    tls::Transport,
};
use tokio::{net::TcpListener, sync::watch};
use tonic::service::Routes;
use tonic_health::{ServingStatus, server::HealthReporter};

pub use config::Config;
pub use error::Error;

use crate::{
    grpc::IngestGrpc,
    ingestor::{Admission, Ingestor},
    publisher::Publisher,
};

/// Writing readings needs the `write` scope (perhaps limited to a prefix, checked per reading);
/// health, reflection and `/metrics` (merged outside the guard) are open.
fn policy(_: &Method, path: &str) -> Access {
    if guard::is_open_grpc(path) {
        Access::Open
    } else {
        Access::Needs(Need::Write)
    }
}

/// A bound, not yet serving ingest service.
pub struct Application {
    listener: TcpListener,
    transport: Transport,
    routes: Routes,
    health: HealthReporter,
    ingestor: Arc<Ingestor>,
    stopping: watch::Sender<bool>,
    shutdown_grace: Duration,
}

impl Service for Application {
    type Config = Config;
    type Error = Error;

    /// Checks the config (and reads the TLS files), creates the producer, checks the topic exists,
    /// and binds the listener (so [`Application::local_addr`] is known before serving).
    async fn build(config: Config) -> Result<Self, Error> {
        config.limits.validate().map_err(Error::Config)?;
        let auth = Authenticator::from_args(&config.auth, "ingest")?;
        let transport = Transport::from_args(&config.tls).map_err(server::Error::from)?;
        let publisher = Publisher::new(&config.kafka, &config.limits)?;
        publisher.check_topic().await.map_err(Error::Config)?;
        let ingestor = Arc::new(Ingestor::new(&config.limits, publisher));
        let (stopping, stopping_rx) = watch::channel(false);
        let admission = Admission::Within(config.limits.admission_timeout);

        let listener = server::bind(config.listen_addr).await?;
        let service = IngestGrpc::new(
            ingestor.clone(),
            config.limits.max_in_flight_batches,
            admission,
            stopping_rx,
        );
        let (grpc, health) = server::service_router(IngestServiceServer::new(service)).await?;
        let calls = grpc.merge(http::router(ingestor.clone(), admission));
        let router = guard::protect(calls, auth, policy).merge(sensorpipe::metrics::router());
        Ok(Self {
            listener,
            transport,
            routes: Routes::from(router),
            health,
            ingestor,
            stopping,
            shutdown_grace: config.limits.shutdown_grace,
        })
    }

    fn listener(&self) -> &TcpListener {
        &self.listener
    }

    /// Serves until `shutdown` resolves. Then: health says NOT_SERVING, streams stop reading,
    /// every batch in flight is confirmed and acked, streams end with UNAVAILABLE (clients
    /// reconnect elsewhere or later), all within the shutdown grace period.
    async fn run_until_stopped(self, shutdown: impl Shutdown) -> Result<(), Error> {
        let stopping = self.stopping.clone();
        let health = self.health.clone();
        let stop = async move {
            shutdown.await;
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
            health
                .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
                .await;
            stopping.send_replace(true);
        };
        server::serve_with_grace(
            self.listener,
            self.transport,
            self.routes,
            stop,
            self.shutdown_grace,
        )
        .await?;
        let ingestor = self.ingestor;
        tokio::task::spawn_blocking(move || ingestor.publisher().flush(Duration::from_secs(5)))
            .await
            .expect("flush panicked");
        Ok(())
    }
}
