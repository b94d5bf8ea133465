//! The one shape every long-running service has, so `main`, the tests and the benchmarks start
//! and stop them all the same way: build (check the config, connect, bind the listener), learn
//! the bound address (port 0 in tests), then run until a shutdown future resolves.

use std::{future::Future, net::SocketAddr};

use clap::{CommandFactory, FromArgMatches};
use tokio::net::TcpListener;

use crate::{config::TelemetryArgs, shutdown, telemetry};

/// What stops a service: SIGINT/SIGTERM in `main`, a test's own future in tests.
pub trait Shutdown: Future<Output = ()> + Send + 'static {}
impl<F: Future<Output = ()> + Send + 'static> Shutdown for F {}

/// A service that is built, bound to its listener, and then run until told to stop.
pub trait Service: Sized + Send + 'static {
    /// Its settings: flags and environment variables; they include [`TelemetryArgs`].
    type Config: clap::Parser + Send + 'static;
    /// Why it could not start or stopped with an error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Checks the config, opens what the service needs and binds its listener, so
    /// [`Service::local_addr`] is known before it serves.
    fn build(config: Self::Config) -> impl Future<Output = Result<Self, Self::Error>> + Send;

    /// The bound listener.
    fn listener(&self) -> &TcpListener;

    /// Serves until `shutdown` resolves, then drains within the service's grace period.
    fn run_until_stopped(
        self,
        shutdown: impl Shutdown,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Where it listens; with port 0 in the config this is the port the OS picked.
    fn local_addr(&self) -> SocketAddr {
        self.listener()
            .local_addr()
            .expect("a bound listener has an address")
    }
}

/// A service's whole `main`: its flags and environment, logging, then [`run`].
pub async fn main<S: Service>() -> Result<(), S::Error> {
    let matches = S::Config::command().get_matches();
    let parsed = S::Config::from_arg_matches(&matches)
        .and_then(|config| Ok((config, TelemetryArgs::from_arg_matches(&matches)?)));
    let (config, telemetry) = parsed.unwrap_or_else(|error| error.exit());
    telemetry::init(&telemetry);
    run::<S>(config).await
}

/// Builds the service and runs it until SIGINT or SIGTERM. Logs `<name> listening` once it
/// serves: `scripts/dev up` waits for that line.
pub async fn run<S: Service>(config: S::Config) -> Result<(), S::Error> {
    let service = S::build(config).await?;
    let name = S::Config::command().get_name().to_owned();
    tracing::info!(addr = %service.local_addr(), "{name} listening");
    service.run_until_stopped(shutdown::signal()).await?;
    tracing::info!("{name} stopped");
    Ok(())
}
