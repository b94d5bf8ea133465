//! WatchMeasurements: rows saved after subscribing arrive in save order; a reconnect with the
//! last cursor misses nothing; a stalled watcher is cut off without delaying another.

use std::time::Duration;

use sensorpipe::{db::NewMeasurement, proto::v1};
use tokio::time::timeout;
use tonic::{Code, Streaming};

use crate::helpers::{TestApp, row};

/// Generous: the poller runs every 20 ms in tests, this only stops a hung test.
const DEADLINE: Duration = Duration::from_secs(30);

type Watch = Streaming<v1::WatchMeasurementsResponse>;

async fn watch(app: &TestApp, sensor_id: &str, cursor: &str) -> Watch {
    // Its own connection: one HTTP/2 connection's flow control is shared by its streams.
    let mut client = v1::admin_service_client::AdminServiceClient::connect(app.url(""))
        .await
        .unwrap();
    client
        .watch_measurements(v1::WatchMeasurementsRequest {
            sensor_id: sensor_id.into(),
            cursor: cursor.into(),
        })
        .await
        .expect("watch opens")
        .into_inner()
}

/// The next `n` rows of a watch, with their cursors.
async fn take(watch: &mut Watch, n: usize) -> Vec<(String, String, i64)> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let next = timeout(DEADLINE, watch.message())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} rows arrived in time", got.len()))
            .expect("no error")
            .expect("stream open");
        let m = next.measurement.expect("measurement set");
        let at = m.measured_at.unwrap();
        got.push((
            next.cursor,
            m.sensor_id,
            at.seconds * 1_000_000 + i64::from(at.nanos / 1000),
        ));
    }
    got
}

/// Rows of one saver batch: several sensors, interleaved times.
fn batch(n: i64, first_second: i64) -> Vec<NewMeasurement> {
    (0..n)
        .map(|i| row(["s-b", "s-a", "S-c"][(i % 3) as usize], first_second + i, 0))
        .collect()
}

/// The save order of batches saved one transaction each: by batch, then bytewise sensor id,
/// then time.
fn save_order(batches: &[Vec<NewMeasurement>]) -> Vec<(String, i64)> {
    let mut keys = Vec::new();
    for batch in batches {
        let mut own: Vec<_> = batch
            .iter()
            .map(|r| (r.sensor_id.clone(), r.measured_at.timestamp_micros()))
            .collect();
        own.sort();
        keys.extend(own);
    }
    keys
}

fn keys(got: &[(String, String, i64)]) -> Vec<(String, i64)> {
    got.iter().map(|(_, s, t)| (s.clone(), *t)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watcher_sees_rows_saved_after_it_subscribed_in_save_order() {
    let mut app = TestApp::spawn().await;
    // Rows saved before: once an earlier watcher has seen them, the watch has passed them.
    let mut early = watch(&app, "", "").await;
    let before = batch(5, 0);
    app.save(&before).await;
    take(&mut early, 5).await;

    let mut watcher = watch(&app, "", "").await;
    let batches = vec![batch(10, 100), batch(1, 200), batch(30, 300)];
    for b in &batches {
        app.save(b).await;
    }
    let got = take(&mut watcher, 41).await;
    assert_eq!(
        keys(&got),
        save_order(&batches),
        "exactly the new rows, in save order"
    );

    // A filtered watch gets only its sensor's rows.
    let mut only_a = watch(&app, "s-a", "").await;
    let more = batch(9, 400);
    app.save(&more).await;
    let got = take(&mut only_a, 3).await;
    let expected: Vec<_> = save_order(&[more])
        .into_iter()
        .filter(|(s, _)| s == "s-a")
        .collect();
    assert_eq!(keys(&got), expected);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconnect_with_the_last_cursor_misses_nothing() {
    let mut app = TestApp::spawn().await;
    let mut watcher = watch(&app, "", "").await;
    let mut batches = vec![batch(20, 0), batch(20, 100)];
    for b in &batches {
        app.save(b).await;
    }
    let first = take(&mut watcher, 15).await;
    drop(watcher);

    // Saved while nobody watches: the poller skips ahead, the cursor must still find them.
    batches.push(batch(2500, 1000));
    app.save(&batches[2]).await;
    let cursor = first.last().unwrap().0.clone();
    let mut resumed = watch(&app, "", &cursor).await;
    batches.push(batch(7, 10_000));
    app.save(&batches[3]).await;
    let rest = take(&mut resumed, 40 - 15 + 2500 + 7).await;

    let mut all = keys(&first);
    all.extend(keys(&rest));
    assert_eq!(
        all,
        save_order(&batches),
        "every row once, in order, across the reconnect"
    );

    // The same from a filtered watch's cursor.
    let a_cursor = rest.iter().find(|(_, s, _)| s == "s-a").unwrap().0.clone();
    let mut only_a = watch(&app, "s-a", &a_cursor).await;
    let expected: Vec<_> = keys(&rest)
        .into_iter()
        .filter(|(s, _)| s == "s-a")
        .skip(1)
        .collect();
    assert_eq!(keys(&take(&mut only_a, expected.len()).await), expected);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_watcher_is_cut_off_without_delaying_another() {
    let mut app = TestApp::spawn_with(&["--watch-buffer", "64"]).await;
    let mut stalled = watch(&app, "", "").await;
    let mut reader = watch(&app, "", "").await;
    // The reader reads as rows come and reports how many it has.
    let (count_tx, mut count_rx) = tokio::sync::watch::channel(0);
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 40_000 {
            got.extend(take(&mut reader, 1000).await);
            count_tx.send_replace(got.len());
        }
        got
    });
    let batches: Vec<_> = (0..40).map(|i| batch(1000, i * 10_000)).collect();
    for (i, b) in batches.iter().enumerate() {
        app.save(b).await;
        // Each batch reaches the reader while the other watcher reads nothing at all.
        timeout(DEADLINE, count_rx.wait_for(|n| *n >= (i + 1) * 1000))
            .await
            .unwrap_or_else(|_| panic!("batch {i} did not reach the reader in time"))
            .unwrap();
    }
    let got = reading.await.unwrap();
    assert_eq!(keys(&got), save_order(&batches));

    // The stalled one finds what its transport buffered, then the cut-off and where to resume.
    let mut received = Vec::new();
    let status = loop {
        match timeout(DEADLINE, stalled.message()).await.expect("answers") {
            Ok(Some(next)) => {
                let m = next.measurement.unwrap();
                let at = m.measured_at.unwrap();
                received.push((
                    next.cursor,
                    m.sensor_id,
                    at.seconds * 1_000_000 + i64::from(at.nanos / 1000),
                ));
            }
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(received.len() < 40_000, "it was cut off before the end");
    let cursor = status
        .message()
        .split('"')
        .nth(1)
        .expect("the message quotes the cursor to resume from")
        .to_owned();
    if let Some(last) = received.last() {
        assert_eq!(cursor, last.0, "the cursor is the last row it received");
    }
    // Resuming from it delivers exactly the rest.
    let mut resumed = watch(&app, "", &cursor).await;
    let rest = take(&mut resumed, 40_000 - received.len()).await;
    let mut all = keys(&received);
    all.extend(keys(&rest));
    assert_eq!(all, save_order(&batches));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_service_ends_watches_with_unavailable() {
    let app = TestApp::spawn().await;
    let mut watcher = watch(&app, "", "").await;
    let stop = tokio::spawn(app.stop());
    let status = timeout(DEADLINE, watcher.message())
        .await
        .expect("the watch ends promptly")
        .expect_err("with a status");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status
            .message()
            .starts_with("admin is shutting down; reconnect"),
        "says why and what to do, not that the database failed: {status:?}"
    );
    timeout(DEADLINE, stop).await.unwrap().unwrap();
}
