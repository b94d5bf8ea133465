//! The admin service: answers questions about the stored measurements over gRPC
//! (`sensorpipe.v1.AdminService`), gRPC-Web (browsers, natively or through Envoy) and HTTP JSON
//! (`GET /measurements`, `GET /sensors`, `GET /measurements/watch` as Server-Sent Events), all
//! on one port, with the same answers and the same errors.
//!
//! # Layout
//! - [`config`]: flags and environment variables.
//! - `query`: requests checked into queries; `token`: page tokens and watch cursors.
//! - `store`: the SQL; `watch`: the shared poller behind every watcher; `cache`: first pages of
//!   `ListMeasurements` kept while the database cannot have changed them.
//! - `service`: the answers, protocol-free; `grpc`, `http`: the protocols (`json`: the HTTP
//!   bodies); `error`: how refusals look on each; `metrics`: what `/metrics` counts.
//! - `dashboard`: the browser dashboard's files at `/`, behind every other route.

mod cache;
pub mod config;
mod dashboard;
mod error;
mod grpc;
mod http;
mod json;
mod metrics;
mod query;
mod service;
pub mod store;
mod token;
mod tokens_api;
mod watch;

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use sensorpipe::{
    auth::{
        Authenticator, Need,
        guard::{self, Access},
    },
    grpc as server,
    proto::v1::admin_service_server::AdminServiceServer,
    service::{Service, Shutdown},
    tls::Transport,
};
use tokio::{net::TcpListener, sync::watch as signal};
use tonic::service::Routes;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use config::Config;
pub use error::Error;

use crate::{cache::ListCache, grpc::AdminGrpc, service::Admin, store::Store, watch::Watch};

/// In-flight calls get this long to finish after the stop signal; watches end at once.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A bound, not yet serving admin service.
pub struct Application {
    listener: TcpListener,
    transport: Transport,
    routes: Routes,
    watch: Watch,
    watch_poll_interval: Duration,
    stopping: signal::Sender<bool>,
}

impl Service for Application {
    type Config = Config;
    type Error = Error;

    /// Builds the pool (connections open on first use, so a database that is down only makes
    /// calls fail with UNAVAILABLE) and the routes, and binds the listener, so
    /// [`Application::local_addr`] is known before serving.
    async fn build(config: Config) -> Result<Self, Error> {
        let auth = Authenticator::from_args(&config.auth, "admin")?;
        let cors = cors(&config.cors_allowed_origins, auth.is_on());
        let transport = Transport::from_args(&config.tls).map_err(server::Error::from)?;
        let store = Store::new(config.database.database_url(), config.db_pool_size.into())?;
        let (stopping, stopping_rx) = signal::channel(false);
        let watch = Watch::new(store.clone(), config.watch_buffer as usize, stopping_rx);
        let list = ListCache::new(
            store.clone(),
            config.list_cache_max_age.min(config.watch_poll_interval),
        );
        let admin = Admin::new(store, list, watch.clone());

        let listener = server::bind(config.listen_addr).await?;
        let (grpc, _health) =
            server::service_router(AdminServiceServer::new(AdminGrpc::new(admin.clone()))).await?;
        // gRPC-Web only on the gRPC routes: as a server-wide layer it would answer every other
        // HTTP/1.1 request (the JSON routes) with 400. It goes outside the guard, which then sees
        // plain gRPC and answers refusals that tonic-web translates.
        let http = http::router(admin).merge(tokens_api::router(config.auth.auth_tokens_file));
        let router = guard::protect(grpc, auth.clone(), policy)
            .route_layer(tonic_web::GrpcWebLayer::new())
            .merge(guard::protect(http, auth, policy))
            .merge(sensorpipe::metrics::router())
            .fallback_service(dashboard::fallback(&config.web_dir))
            .layer(cors);
        Ok(Self {
            listener,
            transport,
            routes: Routes::from(router),
            watch,
            watch_poll_interval: config.watch_poll_interval,
            stopping,
        })
    }

    fn listener(&self) -> &TcpListener {
        &self.listener
    }

    /// Serves until `shutdown` resolves; then ends every watch with UNAVAILABLE (clients resume
    /// with their cursor) and gives in-flight calls the grace period.
    async fn run_until_stopped(self, shutdown: impl Shutdown) -> Result<(), Error> {
        let poller = tokio::spawn(self.watch.run_poller(self.watch_poll_interval));
        let stopping = self.stopping;
        let stop = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        server::serve_with_grace(
            self.listener,
            self.transport,
            self.routes,
            stop,
            SHUTDOWN_GRACE,
        )
        .await?;
        poller.abort();
        Ok(())
    }
}

/// Reading needs the `read` scope, managing tokens (`/tokens`) the `admin` scope; health,
/// reflection, `/metrics` and the dashboard's files (merged outside the guard) are open.
fn policy(_: &Method, path: &str) -> Access {
    if guard::is_open_grpc(path) {
        Access::Open
    } else if path == "/tokens" || path.starts_with("/tokens/") {
        Access::Needs(Need::Admin)
    } else {
        Access::Needs(Need::Read)
    }
}

/// Which web pages may call from another origin. With auth on, only the configured origins (a
/// page elsewhere holding a user's token must not be able to use it here); with auth off, any,
/// as the data is then open anyway. gRPC-Web needs its own request headers allowed and the gRPC
/// status headers exposed, or the browser hides them.
fn cors(origins: &[HeaderValue], auth_on: bool) -> CorsLayer {
    let header = HeaderName::from_static;
    let allowed = if auth_on {
        AllowOrigin::list(origins.iter().cloned())
    } else {
        AllowOrigin::any()
    };
    CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header("authorization"),
            header("content-type"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header("last-event-id"),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
        ])
}
