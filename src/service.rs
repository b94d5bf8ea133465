//! The one shape every long-running service has, so `main`, the tests and the benchmarks start
//! and stop them all the same way: build (check the config, connect, bind the listener), learn
//! the bound address (port 0 in tests), then run until a shutdown future resolves.

use std::{future::Future, net::SocketAddr};

use tokio::net::TcpListener;

use crate::shutdown;

/// A service that is built, bound to its listener, and then run until told to stop.
pub trait Service: Sized + Send + 'static {
    /// Its settings: flags and environment variables.
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
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Where it listens; with port 0 in the config this is the port the OS picked.
    fn local_addr(&self) -> SocketAddr {
        self.listener()
            .local_addr()
            .expect("a bound listener has an address")
    }
}

/// What a service's `main` does once logging is set up: build, then run until SIGINT or SIGTERM.
pub async fn run<S: Service>(config: S::Config) -> Result<(), S::Error> {
    S::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}
