//! Two savers share a group over six partitions; one is killed halfway. The other takes over its
//! partitions from their last commit, and the table ends exact.

use std::time::Duration;

use crate::{
    helpers::{Setup, readings},
    process::{start_saver_process, wait_for_rows_above},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_group_of_two_survives_losing_one() {
    let setup = Setup::new(6).await;
    let distinct = readings(200_000, 600);
    let batch = ["--batch-size", "1000"];
    let first = start_saver_process(&setup, &batch).await;
    let second = start_saver_process(&setup, &batch).await;

    // Both own partitions before any record arrives, so both do part of the work.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (a, b) = (
            first.metric("saver_assigned_partitions").await,
            second.metric("saver_assigned_partitions").await,
        );
        if a > 0.0 && b > 0.0 && a + b == 6.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "partitions never split: {a} + {b}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    setup.produce(&distinct).await;
    wait_for_rows_above(&setup, 60_000).await;
    assert!(
        first.metric("saver_records_consumed_total").await > 0.0,
        "both share the work"
    );
    assert!(
        second.metric("saver_records_consumed_total").await > 0.0,
        "both share the work"
    );
    first.kill();

    setup.assert_stored_exactly(&distinct).await;
    assert_eq!(
        second.metric("saver_assigned_partitions").await,
        6.0,
        "the survivor owns all"
    );
    drop(second);
}
