//! PostgreSQL stops during consumption and starts again: while it is down the saver commits no
//! offset and says it is not ready; afterwards it resumes by itself, with no loss and no
//! duplicate.

use std::time::Duration;

use sensorpipe::db;
use testkit::PrivatePostgres;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    helpers::{Setup, readings},
    process::{health, start_saver_process, wait_for_rows_above},
};

#[tokio::test(flavor = "multi_thread")]
async fn no_commit_while_postgres_is_down_and_nothing_lost_after() {
    let postgres = PrivatePostgres::start().await;
    db::run_migrations(&postgres.database_url()).await.unwrap();
    let setup = Setup::on_database(3, postgres.database_url()).await;
    let distinct = readings(200_000, 400);
    setup.produce(&distinct).await;

    let saver =
        start_saver_process(&setup, &["--batch-size", "1000", "--max-backoff", "500ms"]).await;
    wait_for_rows_above(&setup, 20_000).await;
    postgres.stop().await;

    // The saver notices at its next write; from then on nothing may be committed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while saver.metric("saver_database_up").await != 0.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the saver never noticed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let committed_while_down = setup.committed_and_end().0;
    // Absence can only be watched for a while: several retries of the batch in hand.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        setup.committed_and_end().0,
        committed_while_down,
        "no commit while PostgreSQL is down"
    );
    assert_eq!(
        health(&saver).await,
        ServingStatus::NotServing,
        "not ready without its database"
    );
    assert_eq!(saver.metric("saver_database_up").await, 0.0);
    assert!(saver.metric("saver_database_retries_total").await >= 1.0);

    postgres.start_again().await;
    setup.assert_stored_exactly(&distinct).await;
    assert_eq!(health(&saver).await, ServingStatus::Serving, "ready again");
    drop(saver);
}
