//! 100,000 readings, 10 % of them sent twice: the table ends with exactly one row per reading,
//! every column as produced, and every offset committed.

use crate::helpers::{Setup, readings, start_saver};

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_are_stored_once_and_every_column_is_kept() {
    let setup = Setup::new(6).await;
    let distinct = readings(100_000, 500);
    let mut sent = distinct.clone();
    sent.extend(distinct.iter().step_by(10).cloned()); // the same key sent twice
    setup.produce(&sent).await;

    let saver = start_saver(&setup, &[]).await;
    setup.assert_stored_exactly(&distinct).await;

    // Redelivery (a new saver in a new group reads everything again) changes nothing.
    saver.stop().await;
    let mut again = setup.clone();
    again.group = testkit::unique_name("saver-group");
    let second = start_saver(&again, &[]).await;
    // The same database: the table must still hold each reading once.
    again.assert_stored_exactly(&distinct).await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_readiness_are_served() {
    let setup = Setup::new(1).await;
    setup.produce(&readings(100, 10)).await;
    let saver = start_saver(&setup, &[]).await;
    setup.wait_until_done(100).await;
    testkit::assert_exported(
        &saver.url(""),
        &[
            "saver_records_consumed_total",
            "saver_rows_inserted_total",
            "saver_duplicates_skipped_total",
            "saver_batch_records_bucket",
            "saver_batch_seconds_bucket",
            "saver_reading_age_seconds_bucket",
            "saver_database_up 1",
        ],
    )
    .await;
    saver.stop().await;
}
