//! PostgreSQL goes away while the saver has nothing to write: health (gRPC and
//! `saver_database_up`) still turns NOT_SERVING, turns SERVING once it is back, and a reading
//! sent afterwards is stored once.

use std::time::Duration;

use sensorpipe::db;
use testkit::{PrivatePostgres, ServiceProcess};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    helpers::{Setup, readings},
    process::{health, start_saver_process},
};

/// Waits until gRPC health and `saver_database_up` both say `serving` (or both say not); panics
/// after 30 s.
async fn wait_for_health(saver: &ServiceProcess, serving: bool) {
    let (status, up) = if serving {
        (ServingStatus::Serving, 1.0)
    } else {
        (ServingStatus::NotServing, 0.0)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = health(saver).await;
        let gauge = saver.metric("saver_database_up").await;
        if now == status && gauge == up {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health still {now:?}, saver_database_up {gauge}, waiting for {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_saver_reports_postgres_down_and_back() {
    let postgres = PrivatePostgres::start().await;
    db::run_migrations(&postgres.database_url()).await.unwrap();
    let setup = Setup::on_database(1, postgres.database_url()).await;
    let saver = start_saver_process(&setup, &["--database-probe-interval", "200ms"]).await;
    wait_for_health(&saver, true).await;

    postgres.stop().await;
    wait_for_health(&saver, false).await;
    assert_eq!(
        saver.metric("saver_database_retries_total").await,
        0.0,
        "no write noticed it: the saver was idle"
    );

    postgres.start_again().await;
    wait_for_health(&saver, true).await;
    let reading = readings(1, 1);
    setup.produce(&reading).await;
    setup.assert_stored_exactly(&reading).await;
    drop(saver);
}
