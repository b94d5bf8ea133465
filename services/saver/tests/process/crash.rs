//! SIGKILL in the middle of a large backlog, three times, then a clean run to the end: exactly
//! one row per record, none missing, every column as produced.

use crate::{
    helpers::{Setup, readings},
    process::{start_saver_process, wait_for_rows_above},
};

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_backlog_loses_nothing_and_stores_nothing_twice() {
    let setup = Setup::new(6).await;
    let distinct = readings(200_000, 1_000);
    let mut sent = distinct.clone();
    sent.extend(distinct.iter().step_by(20).cloned());
    setup.produce(&sent).await;

    let mut stored = 0;
    for round in 1..=3 {
        let saver = start_saver_process(&setup, &["--batch-size", "2000"]).await;
        stored = wait_for_rows_above(&setup, stored + 20_000).await;
        saver.kill();
        let (committed, end) = setup.committed_and_end();
        println!("round {round}: killed at {stored} rows, {committed}/{end} offsets committed");
        assert!(committed < end, "killed mid-backlog, not after it");
    }
    let saver = start_saver_process(&setup, &[]).await;
    setup.assert_stored_exactly(&distinct).await;
    drop(saver);
}
