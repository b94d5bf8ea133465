//! A service of the workspace serving in a task of the test's runtime, started the way its `main`
//! starts it ([`Service::build`], then [`Service::run_until_stopped`]), so tests exercise the real
//! wiring, on the port the OS picked.

use std::{ffi::OsString, net::SocketAddr};

use clap::Parser;
use sensorpipe::service::Service;
use tokio::{sync::oneshot, task::JoinHandle};

/// The flags that bind any service of the workspace to a port the OS picks on loopback: the first
/// flags of most [`RunningService::start_with_args`] calls.
pub const LISTEN_ON_PORT_0: [&str; 2] = ["--listen-addr", "127.0.0.1:0"];

/// A running `S`. Dropping it without [`stop`](Self::stop) or [`kill`](Self::kill) also stops it
/// (the shutdown future resolves when its trigger is dropped), but nobody checks how it ended.
pub struct RunningService<S: Service> {
    /// Where it listens: HTTP and gRPC share the port.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<Result<(), S::Error>>,
}

impl<S: Service> RunningService<S> {
    /// Builds `S` from `config` and serves it; panics when it cannot start.
    pub async fn start(config: S::Config) -> Self {
        let service = S::build(config)
            .await
            .unwrap_or_else(|e| panic!("{} does not start: {e}", name::<S>()));
        let addr = service.local_addr();
        let (stop, stopped) = oneshot::channel();
        let served = tokio::spawn(service.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self { addr, stop, served }
    }

    /// [`start`](Self::start) with the config parsed from command-line flags, as `main` reads
    /// them: `start_with_args(LISTEN_ON_PORT_0.iter().chain(...))`. Unset flags come from the
    /// environment or their defaults, as for the binary. Panics on flags the service refuses.
    pub async fn start_with_args<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let argv =
            std::iter::once(OsString::from(name::<S>())).chain(args.into_iter().map(Into::into));
        let config = S::Config::try_parse_from(argv)
            .unwrap_or_else(|e| panic!("{} refuses its flags: {}", name::<S>(), e.render()));
        Self::start(config).await
    }

    /// [`start_with_args`](Self::start_with_args) for a service that takes calls (ingest, admin):
    /// on port 0 with the flags `base` then `args`, and `--insecure-no-auth` unless `args` say how
    /// to authenticate ([`crate::auth::open_unless_tokens`]).
    pub async fn start_on_port_0(base: &[&str], args: &[&str]) -> Self {
        let open = crate::auth::open_unless_tokens(args);
        Self::start_with_args(LISTEN_ON_PORT_0.iter().chain(base).chain(args).chain(&open)).await
    }

    /// `http://<addr><path>`: `url("")` is the base URL gRPC clients connect to.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Whether it has stopped serving on its own (crashed or returned) without being told to.
    pub fn is_finished(&self) -> bool {
        self.served.is_finished()
    }

    /// A graceful stop, as SIGTERM triggers one: the service drains within its grace period.
    /// Panics unless it then returns `Ok`.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.served
            .await
            .unwrap_or_else(|e| panic!("{} panicked: {e}", name::<S>()))
            .unwrap_or_else(|e| panic!("{} stopped with an error: {e}", name::<S>()));
    }

    /// Aborts the serving task: nothing is drained and the service's own shutdown steps do not run.
    /// Connections already accepted run in tasks of their own and may outlive it; a test that
    /// needs every connection cut, as a crash cuts them, runs the service on a runtime of its own
    /// and shuts that down (see the dashboard test's admin).
    pub async fn kill(self) {
        self.served.abort();
        let _ = self.served.await;
    }
}

/// The crate the service comes from (`ingest`), for messages and as `argv[0]`.
fn name<S>() -> &'static str {
    let path = std::any::type_name::<S>();
    path.split("::").next().unwrap_or(path)
}
