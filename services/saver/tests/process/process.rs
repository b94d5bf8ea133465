//! Starting the saver binary on a setup, and watching it work through a backlog.

use std::time::Duration;

use testkit::ServiceProcess;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::Setup;

/// The saver binary pointed at `setup`, once it serves `/metrics` (migrated, subscribed); `extra`
/// are more flags.
pub async fn start_saver_process(setup: &Setup, extra: &[&str]) -> ServiceProcess {
    start_saver_process_on(setup, 0, extra).await
}

/// [`start_saver_process`] listening on `port` (0: a free one). The saver's group identity
/// derives from its listen address, so a restart on the same port is the same saver again.
pub async fn start_saver_process_on(setup: &Setup, port: u16, extra: &[&str]) -> ServiceProcess {
    let args: Vec<String> = setup
        .args()
        .into_iter()
        .chain(extra.iter().map(|s| (*s).to_owned()))
        .collect();
    ServiceProcess::start(env!("CARGO_BIN_EXE_saver"), port, &args).await
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

/// The saver's overall gRPC health status, asked once.
pub async fn health(saver: &ServiceProcess) -> ServingStatus {
    let channel = tonic::transport::Channel::from_shared(saver.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = HealthCheckRequest {
        service: String::new(),
    };
    HealthClient::new(channel)
        .check(request)
        .await
        .unwrap()
        .into_inner()
        .status()
}
