//! Starting, killing and stopping the saver binary.

use std::{
    net::TcpListener,
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use crate::helpers::Setup;

/// The saver binary, running. Killed when dropped, so no test leaves one behind.
pub struct SaverProcess {
    child: Child,
    pub port: u16,
}

impl SaverProcess {
    /// Starts it on `setup` and returns once it serves `/metrics` (migrated, subscribed).
    pub async fn start(setup: &Setup, extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_saver"))
            .args(["--listen-addr", &format!("127.0.0.1:{port}")])
            .args(setup.args())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the saver binary starts");
        let mut process = Self { child, port };
        while reqwest::get(process.url("/metrics")).await.is_err() {
            assert!(
                process.child.try_wait().unwrap().is_none(),
                "saver exited during start-up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL: no batch finished, no commit, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit status (at most `within`).
    pub async fn terminate(mut self, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "saver still running {within:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The value of a metric on its `/metrics` (summed over labels; 0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        sensorpipe::testing::metric_value(&text, name)
    }
}

impl Drop for SaverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the table holds more than `rows` rows: the saver is mid-backlog.
pub async fn wait_for_rows_above(setup: &Setup, rows: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let count = setup.count_rows().await;
        if count > rows {
            return count;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stuck at {count} rows"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
