//! `sensor_summaries` stays exact (per sensor: count, first and last reading, the latest row's
//! columns) whatever happens to the saver: SIGKILL mid-stream, a full replay by a new group
//! (every part falls back from COPY to the idempotent insert), batches mixing stored and new
//! rows, and a row the table refuses (dead-lettered, not counted).

use diesel::{QueryableByName, sql_query, sql_types::Text};
use diesel_async::RunQueryDsl;
use sensorpipe::db;

use crate::{
    helpers::{Setup, readings},
    process::{start_saver_process, wait_for_rows_above},
};

/// Summary rows that differ from what the stored rows say, each side marked; empty when exact.
const MISMATCHES: &str = "\
WITH truth AS (
    SELECT m.sensor_id, a.n, a.first, m.measured_at, m.celsius, m.ingested_at, m.saved_at
      FROM (SELECT sensor_id, count(*) AS n, min(measured_at) AS first, max(measured_at) AS last
              FROM measurements GROUP BY sensor_id) a
      JOIN measurements m ON m.sensor_id = a.sensor_id AND m.measured_at = a.last
), summary AS (
    SELECT sensor_id, measurement_count, first_measured_at, measured_at, celsius, ingested_at,
           saved_at
      FROM sensor_summaries
)
SELECT 'stored rows say ' || t::text AS line FROM (TABLE truth EXCEPT TABLE summary) t
UNION ALL
SELECT 'summary says ' || s::text FROM (TABLE summary EXCEPT TABLE truth) s";

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

async fn assert_summary_exact(setup: &Setup, step: &str) {
    let mut connection = db::connect(&setup.database_url).await.unwrap();
    let lines: Vec<Line> = sql_query(MISMATCHES).load(&mut connection).await.unwrap();
    let lines: Vec<String> = lines.into_iter().map(|l| l.line).collect();
    assert!(
        lines.is_empty(),
        "{step}: summary differs:\n{}",
        lines.join("\n")
    );
    println!("{step}: summary exact");
}

async fn execute(setup: &Setup, sql: &str) {
    let mut connection = db::connect(&setup.database_url).await.unwrap();
    sql_query(sql).execute(&mut connection).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_counts_each_stored_row_once_through_kills_replays_and_refusals() {
    let setup = Setup::new(6).await;
    let all = readings(160_000, 40);
    let (first, later) = all.split_at(120_000);
    let mut sent = first.to_vec();
    sent.extend(first.iter().step_by(15).cloned());
    setup.produce(&sent).await;

    // SIGKILL mid-stream, then a restart to the end.
    let saver = start_saver_process(&setup, &["--batch-size", "2000"]).await;
    wait_for_rows_above(&setup, 20_000).await;
    saver.kill();
    assert_summary_exact(&setup, "after SIGKILL").await;
    let saver = start_saver_process(&setup, &[]).await;
    setup.assert_stored_exactly(first).await;
    assert_summary_exact(&setup, "after the restart").await;
    drop(saver);

    // A full replay: every part meets stored rows, COPY gives way to the idempotent insert.
    let mut replay = setup.clone();
    replay.group = testkit::unique_name("saver-replay");
    let saver = start_saver_process(&replay, &[]).await;
    replay.assert_stored_exactly(first).await;
    assert!(saver.metric("saver_copy_fallbacks_total").await > 0.0);
    assert_eq!(saver.metric("saver_rows_inserted_total").await, 0.0);
    assert_summary_exact(&replay, "after a full replay").await;

    // Batches mixing stored and new rows, and a row only the table refuses (a constraint of
    // this test's own): the new rows are counted, the refused one is dead-lettered.
    execute(
        &setup,
        "ALTER TABLE measurements ADD CONSTRAINT test_refuses CHECK (celsius <> 1234.5)",
    )
    .await;
    let mut refused = later[0].clone();
    refused.measured_at.as_mut().unwrap().seconds -= 7200;
    refused.celsius = 1234.5;
    let mut mixed: Vec<_> = later
        .iter()
        .zip(first.iter().step_by(3))
        .flat_map(|(new, old)| [new.clone(), old.clone()])
        .collect();
    mixed.insert(mixed.len() / 2, refused);
    replay.produce(&mixed).await;
    replay.assert_stored_exactly(&all).await;
    assert_eq!(
        saver.metric("saver_rows_inserted_total").await,
        later.len() as f64
    );
    let letters = testkit::read_topic_raw(&setup.brokers, &setup.dlq).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].headers["sensorpipe.error.kind"], "database");
    assert!(
        letters[0].headers["sensorpipe.error"].contains("test_refuses"),
        "{:?}",
        letters[0].headers
    );
    assert_summary_exact(&replay, "after mixed batches and a refused row").await;
    drop(saver);
}
