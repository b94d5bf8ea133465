//! Starts and kills the ingest binary, reads its metrics, runs the real generator against it.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use clap::Parser;

/// The ingest binary, running. Killed when dropped, so no test leaves one behind.
pub struct IngestProcess {
    child: Child,
    pub port: u16,
}

impl IngestProcess {
    /// Starts it on `port` (0 picks a free one) and returns once it answers HTTP.
    pub async fn start(port: u16, brokers: &str, topic: &str, args: &[&str]) -> Self {
        let port = if port == 0 { free_port() } else { port };
        let child = Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(["--listen-addr", &format!("127.0.0.1:{port}")])
            .args(["--kafka-brokers", brokers, "--kafka-topic", topic])
            .args(args)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the ingest binary starts");
        let process = Self { child, port };
        // Answering /metrics means the gRPC port serves too: they share the listener.
        while reqwest::get(process.url("/metrics")).await.is_err() {
            assert!(process.alive(), "ingest exited during start-up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn alive(&self) -> bool {
        std::path::Path::new(&format!("/proc/{}", self.child.id())).exists()
    }

    /// SIGKILL: no drain, no goodbye; connections just break.
    pub fn kill(mut self) {
        self.child.kill().expect("kill ingest");
        self.child.wait().expect("reap ingest");
    }

    /// The value of a counter or gauge on its `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        sensorpipe::testing::metric_value(&text, name)
    }

    /// Polls a metric until it reaches `at_least`.
    pub async fn wait_for_metric(&self, name: &str, at_least: f64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.metric(name).await < at_least {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} never reached {at_least}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for IngestProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Runs the real generator against `port` with `args`, in a task.
pub fn spawn_generator(port: u16, args: &[&str]) -> tokio::task::JoinHandle<generator::Summary> {
    let url = format!("http://127.0.0.1:{port}");
    let base = [
        "generator",
        "--ingest-url",
        &url,
        "--give-up-after",
        "60s",
        "--shutdown-grace",
        "5s",
    ];
    let config =
        generator::Config::try_parse_from(base.iter().chain(args)).expect("generator flags");
    tokio::spawn(async move {
        tokio::time::timeout(
            Duration::from_secs(240),
            generator::run(config, std::future::pending()),
        )
        .await
        .expect("the generator finishes within 4 minutes")
        .expect("the generator runs")
    })
}
