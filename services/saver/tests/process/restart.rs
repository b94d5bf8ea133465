//! SIGKILL and a restart as the same saver (same listen address, so the same static identity in
//! the group), while readings keep arriving, twice: it takes its partitions back from its dead
//! self, and the table ends with exactly one row per reading.

use crate::{
    helpers::{Setup, readings},
    process::{start_saver_process_on, wait_for_rows_above},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_saver_resumes_as_itself_and_stores_each_reading_once() {
    let setup = Setup::new(6).await;
    let distinct = readings(120_000, 600);
    let (early, late) = distinct.split_at(60_000);
    let mut sent = early.to_vec();
    sent.extend(early.iter().step_by(10).cloned());
    setup.produce(&sent).await;

    let port = testkit::free_port();
    let batch = ["--batch-size", "1000"];
    let mut stored = 0;
    for round in 1..=2 {
        let saver = start_saver_process_on(&setup, port, &batch).await;
        stored = wait_for_rows_above(&setup, stored + 10_000).await;
        saver.kill();
        println!("round {round}: killed at {stored} rows");
    }
    let saver = start_saver_process_on(&setup, port, &batch).await;
    setup.produce(late).await;
    setup.assert_stored_exactly(&distinct).await;
    drop(saver);
}
