//! What every gRPC port serves besides its own service: `grpc.health.v1` and reflection (v1 and
//! v1alpha, so old and new grpcurl both work), and the server loop with graceful shutdown.
//! Reflection lists exactly what the port serves: the contract's descriptor set holds every
//! sensorpipe service, and listing a service the port does not serve would send a grpcurl user
//! to `UNIMPLEMENTED`.

use std::{future::Future, net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tonic::{
    server::NamedService,
    service::{Routes, RoutesBuilder},
    transport::Server,
};
use tonic_health::server::HealthReporter;

use crate::{proto::FILE_DESCRIPTOR_SET, shutdown, tls::Transport};

/// Why a gRPC server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] crate::tls::Error),
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Health and reflection, ready for the port's own services (`served`, by full name, e.g.
/// `sensorpipe.v1.IngestService`) to be added. The reporter says `SERVING` for the whole server
/// (the empty service name) until the caller changes it.
pub async fn standard_routes(served: &[&str]) -> Result<(RoutesBuilder, HealthReporter), Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    let listed = served.iter().copied().chain([
        tonic_health::pb::health_server::SERVICE_NAME,
        tonic_reflection::pb::v1::server_reflection_server::SERVICE_NAME,
        tonic_reflection::pb::v1alpha::server_reflection_server::SERVICE_NAME,
    ]);
    let reflection = || {
        listed.clone().fold(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                ),
            |builder, name| builder.with_service_name(name),
        )
    };
    let mut routes = Routes::builder();
    routes
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    Ok((routes, health))
}

/// Health, reflection and the port's own service as an axum router, ready for the port's HTTP
/// routes beside it. Health says `SERVING` for the whole server and for the service by name until
/// the caller changes it at shutdown.
pub async fn service_router<S>(service: S) -> Result<(axum::Router, HealthReporter), Error>
where
    S: tonic::codegen::Service<
            tonic::codegen::http::Request<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send + 'static,
{
    let (mut routes, health) = standard_routes(&[S::NAME]).await?;
    routes.add_service(service);
    health
        .set_service_status(S::NAME, tonic_health::ServingStatus::Serving)
        .await;
    Ok((routes.routes().into_axum_router(), health))
}

/// Binds first, so a caller that asked for port 0 learns the real port before serving.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// Serves `routes` on `listener` until `shutdown` resolves, then lets in-flight calls finish.
/// HTTP/1.1 is accepted too, for the JSON routes (curl) and gRPC-Web (browsers) on the same port,
/// over TLS as over plaintext.
pub async fn serve(
    listener: TcpListener,
    transport: Transport,
    routes: Routes,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let server = Server::builder().accept_http1(true).add_routes(routes);
    match transport {
        Transport::Plain => {
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            server
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await?;
        }
        Transport::Tls(acceptor) => {
            let incoming = crate::tls::incoming(listener, acceptor);
            server
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await?;
        }
    }
    Ok(())
}

/// [`serve`], with a limit on the drain: once `shutdown` resolves (a service makes it say
/// NOT_SERVING and tell its streams to end before it does), in-flight calls get `grace` to
/// finish and are then cut off, so a stuck call never turns a stop into a hang.
pub async fn serve_with_grace(
    listener: TcpListener,
    transport: Transport,
    routes: Routes,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> Result<(), Error> {
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopped_tx.send(());
    };
    let serve = serve(listener, transport, routes, signal);
    tokio::pin!(serve);
    tokio::select! {
        result = &mut serve => result,
        Ok(()) = stopped_rx => shutdown::with_grace(grace, &mut serve).await.unwrap_or(Ok(())),
    }
}
