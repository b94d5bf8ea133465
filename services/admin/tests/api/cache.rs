//! First pages of ListMeasurements are served from memory, yet never older than the freshness
//! bound: a call that starts the bound (the watch poll interval, 20 ms in tests) or longer after a
//! row was committed shows that row, with the cache warm, over HTTP JSON and gRPC, and while
//! another transaction holds the watch's save-order horizon back.

use std::time::{Duration, Instant};

use diesel_async::SimpleAsyncConnection;
use sensorpipe::{db::connect, proto::v1};
use testkit::metric_value;

use crate::helpers::{TestApp, dataset, row};

/// The tests' watch poll interval (see `TestApp::spawn_with`): the cache's bound, since the
/// `--list-cache-max-age` asked for here is longer.
const BOUND: Duration = Duration::from_millis(20);
/// Stops a hung test; the waits below end much sooner.
const DEADLINE: Duration = Duration::from_secs(30);

const HITS: &str = "admin_list_cache_events_total{event=\"hit\"}";

async fn spawn() -> TestApp {
    let mut app = TestApp::spawn_with(&["--list-cache-max-age", "1s"]).await;
    app.save(&dataset()).await;
    app
}

async fn hits(app: &TestApp) -> f64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics as text");
    metric_value(&text, HITS)
}

/// The sensors of `GET /measurements?limit=5`, newest first.
async fn http_first_page(app: &TestApp) -> Vec<String> {
    let (status, body) = app.get_json("/measurements?limit=5").await;
    assert_eq!(status, 200, "{body}");
    body["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .map(|m| m["sensor_id"].as_str().expect("sensor_id").to_owned())
        .collect()
}

/// The same page over gRPC.
async fn grpc_first_page(app: &TestApp) -> Vec<String> {
    let request = v1::ListMeasurementsRequest {
        page_size: 5,
        ..Default::default()
    };
    let page = app.grpc.clone().list_measurements(request).await.unwrap();
    page.into_inner()
        .measurements
        .into_iter()
        .map(|m| m.sensor_id)
        .collect()
}

/// Asks until the cache answers (this process's hit count grows), so the next steps run warm.
async fn warm_up(app: &TestApp) {
    let before = hits(app).await;
    let until = Instant::now() + DEADLINE;
    while hits(app).await <= before {
        assert!(Instant::now() < until, "no answer came from the cache");
        http_first_page(app).await;
        grpc_first_page(app).await;
    }
}

/// Saves a new newest row of `sensor` (rows of these tests tie on the newest time, so it is on the
/// first page, not necessarily first), then asks over both protocols until a call that started
/// [`BOUND`] after the commit: every such call must show it. Returns how many calls before that
/// still lacked it (allowed: they came within the bound).
async fn saved_row_shows_within_the_bound(app: &mut TestApp, sensor: &str) -> usize {
    app.save(&[row(sensor, 1_000, 0)]).await;
    let committed = Instant::now();
    let mut lacking = 0;
    for call in 0.. {
        let started = Instant::now();
        assert!(
            started < committed + DEADLINE,
            "still asking after {DEADLINE:?}"
        );
        let newest = if call % 2 == 0 {
            http_first_page(app).await
        } else {
            grpc_first_page(app).await
        };
        let shown = newest.iter().any(|s| s == sensor);
        if started >= committed + BOUND {
            assert!(
                shown,
                "a call started {:?} after the commit lacks the row: {newest:?}",
                started - committed
            );
            // And over the other protocol, which shares the cache.
            let other = if call % 2 == 0 {
                grpc_first_page(app).await
            } else {
                http_first_page(app).await
            };
            assert!(other.iter().any(|s| s == sensor), "{other:?}");
            return lacking;
        }
        if !shown {
            lacking += 1;
        }
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_row_shows_within_the_bound_while_the_cache_is_warm() {
    let mut app = spawn().await;
    for sensor in ["new-1", "new-2", "new-3"] {
        warm_up(&app).await;
        let lacking = saved_row_shows_within_the_bound(&mut app, sensor).await;
        println!("{sensor}: {lacking} calls within the bound lacked the row");
    }
    app.stop().await;
}

/// The watch's horizon stops at the oldest running transaction; a plain query does not wait for
/// it, and neither may the cache.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_transaction_does_not_hold_cached_answers_back() {
    let mut app = spawn().await;
    let mut open = connect(&app.database_url)
        .await
        .expect("a second connection");
    open.batch_execute("BEGIN; SELECT txid_current()")
        .await
        .expect("a transaction that holds an id");
    warm_up(&app).await;
    saved_row_shows_within_the_bound(&mut app, "while-open").await;
    warm_up(&app).await;
    saved_row_shows_within_the_bound(&mut app, "still-open").await;
    open.batch_execute("ROLLBACK").await.expect("rollback");
    drop(open);
    app.stop().await;
}
