//! A service binary of the workspace as a process of its own: its own memory, its own metrics, a
//! real SIGKILL and a real SIGTERM.

use std::{
    ffi::OsStr,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use crate::{free_port, scrape_metric};

/// How long [`ServiceProcess::wait_for_metric`] waits.
const METRIC_DEADLINE: Duration = Duration::from_secs(60);
/// How often it polls what it waits for: the process has no readiness signal but its answers.
const POLL: Duration = Duration::from_millis(50);

/// A running service binary. Killed when dropped, so no test leaves one behind.
pub struct ServiceProcess {
    child: Child,
    /// The binary's file name, for messages.
    name: String,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl ServiceProcess {
    /// Runs `binary` (`env!("CARGO_BIN_EXE_ingest")`) with `--listen-addr 127.0.0.1:<port>` (0
    /// picks a free port) and `args`, logging warnings and errors to the test's stderr, and
    /// returns once it answers `/metrics`: HTTP and gRPC share the listener, so it serves both.
    /// Panics if it exits first.
    pub async fn start<A: AsRef<OsStr>>(binary: &str, port: u16, args: &[A]) -> Self {
        let port = if port == 0 { free_port() } else { port };
        let name = Path::new(binary)
            .file_name()
            .map_or_else(|| binary.to_owned(), |n| n.to_string_lossy().into_owned());
        let child = Command::new(binary)
            .args(["--listen-addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
        let mut process = Self { child, name, port };
        while reqwest::get(process.url("/metrics")).await.is_err() {
            if let Some(status) = process.child.try_wait().expect("wait for the child") {
                panic!("{} exited during start-up: {status}", process.name);
            }
            tokio::time::sleep(POLL).await;
        }
        process
    }

    /// `http://127.0.0.1:<port><path>`: `url("")` is the base URL gRPC clients connect to.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no drain, no commit, no goodbye; connections just break.
    pub fn kill(mut self) {
        let name = &self.name;
        self.child
            .kill()
            .unwrap_or_else(|e| panic!("kill {name}: {e}"));
        self.child
            .wait()
            .unwrap_or_else(|e| panic!("reap {name}: {e}"));
    }

    /// SIGTERM, then waits for the exit status (at most `within`).
    pub async fn terminate(mut self, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|status| status.success());
        assert!(sent, "cannot send SIGTERM to {} ({pid})", self.name);
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} still running {within:?} after SIGTERM",
                self.name
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The value of a metric on its `/metrics`, summed over label sets (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        scrape_metric(&self.url(""), name).await
    }

    /// Polls a metric until it reaches `at_least`; panics after a minute.
    pub async fn wait_for_metric(&self, name: &str, at_least: f64) {
        let deadline = tokio::time::Instant::now() + METRIC_DEADLINE;
        while self.metric(name).await < at_least {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: {name} never reached {at_least}",
                self.name
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
