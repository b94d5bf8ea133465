//! SIGTERM: the saver stops polling, stores and commits the batch in hand, and exits 0 within its
//! grace period; a restart finishes the job exactly.

use std::time::Duration;

use crate::{
    helpers::{Setup, readings},
    process::{start_saver_process, wait_for_rows_above},
};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_batch_commits_and_exits_zero() {
    let setup = Setup::new(3).await;
    let distinct = readings(150_000, 300);
    setup.produce(&distinct).await;

    let saver = start_saver_process(&setup, &["--shutdown-grace", "10s"]).await;
    wait_for_rows_above(&setup, 10_000).await;
    let status = saver.terminate(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status:?}");
    let (committed, _) = setup.committed_and_end();
    let rows = setup.count_rows().await;
    assert!(
        committed > 0 && committed <= rows,
        "committed {committed} offsets for {rows} rows"
    );

    let saver = start_saver_process(&setup, &[]).await;
    setup.assert_stored_exactly(&distinct).await;
    drop(saver);
}
