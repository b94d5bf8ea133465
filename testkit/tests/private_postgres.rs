//! `PrivatePostgres` does what outage tests of the saver need: a committed row survives `stop` and
//! `start_again`, while the server is stopped a new connection fails with an error naming the
//! server (never the password) and an open one fails on its next query, and after `start_again`
//! the same URL connects and inserts again. Dropping it leaves no server and no folder behind.

use std::{net::TcpStream, time::Instant};

use chrono::{DateTime, Utc};
use diesel::{QueryDsl, SelectableHelper};
use diesel_async::RunQueryDsl;
use sensorpipe::db::{self, Measurement, NewMeasurement, schema::measurements};
use testkit::{
    PrivatePostgres,
    rows::{insert, measurement as row},
};

/// The rows as (sensor_id, measured_at, celsius), in key order.
async fn stored(url: &str) -> Vec<(String, DateTime<Utc>, f64)> {
    let mut conn = db::connect(url).await.unwrap();
    measurements::table
        .select(Measurement::as_select())
        .order((measurements::sensor_id, measurements::measured_at))
        .load::<Measurement>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.sensor_id, m.measured_at, m.celsius))
        .collect()
}

fn key(row: &NewMeasurement) -> (String, DateTime<Utc>, f64) {
    (row.sensor_id.clone(), row.measured_at, row.celsius)
}

// multi_thread: `run_migrations` blocks in place on diesel's sync migrator.
#[tokio::test(flavor = "multi_thread")]
async fn server_stops_and_comes_back_with_its_rows() {
    let t = Instant::now();
    let postgres = PrivatePostgres::start().await;
    let start_took = t.elapsed();
    let url = postgres.database_url();
    let address = format!("127.0.0.1:{}", postgres.port());
    assert_eq!(
        url,
        format!("postgres://sensorpipe:sensorpipe@{address}/cloud_db")
    );

    let applied = db::run_migrations(&url).await.unwrap();
    assert!(!applied.is_empty(), "a fresh server has no schema yet");

    let before = row("before-stop", 1, 21.5);
    let mut open = db::connect(&url).await.unwrap();
    let inserted = insert(&mut open, std::slice::from_ref(&before))
        .await
        .unwrap();
    assert_eq!(inserted, 1);

    let t = Instant::now();
    postgres.stop().await;
    let stop_took = t.elapsed();
    assert!(
        TcpStream::connect(&address).is_err(),
        "nothing listens on {address} after stop"
    );

    // A new connection fails and says where it tried, without the password.
    let error = db::connect(&url)
        .await
        .err()
        .expect("no connection while the server is stopped")
        .to_string();
    assert!(error.contains(&address), "names the server: {error}");
    assert!(!error.contains("sensorpipe:sensorpipe"), "{error}");
    // The connection opened before the stop is dead: its next query fails.
    let on_open = insert(&mut open, &[row("while-stopped", 2, 22.5)])
        .await
        .expect_err("an open connection fails once the server is stopped");
    drop(open);

    let t = Instant::now();
    postgres.start_again().await;
    let start_again_took = t.elapsed();

    // The committed row survived; the failed insert left nothing.
    assert_eq!(stored(&url).await, vec![key(&before)]);
    // Migrations already applied: the schema came back with the data.
    assert!(db::run_migrations(&url).await.unwrap().is_empty());

    let after = row("after-restart", 3, 23.5);
    let mut conn = db::connect(&url).await.unwrap();
    let inserted = insert(&mut conn, std::slice::from_ref(&after))
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    drop(conn);
    assert_eq!(stored(&url).await, vec![key(&after), key(&before)]);

    let dir = postgres.dir().to_path_buf();
    let t = Instant::now();
    drop(postgres);
    let drop_took = t.elapsed();
    assert!(!dir.exists(), "{} removed on drop", dir.display());
    assert!(
        TcpStream::connect(&address).is_err(),
        "no server on {address} after drop"
    );

    eprintln!("connect while stopped: {error}");
    eprintln!("query on a connection opened before the stop: {on_open}");
    eprintln!(
        "PrivatePostgres timings: start {start_took:.1?}, stop {stop_took:.1?}, start_again \
         {start_again_took:.1?}, drop {drop_took:.1?}"
    );
}

/// A panic in the test still stops the server and removes the folder (Drop runs while unwinding).
#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_test_leaves_nothing_behind() {
    let postgres = PrivatePostgres::start().await;
    let dir = postgres.dir().to_path_buf();
    let address = format!("127.0.0.1:{}", postgres.port());
    let panicked = tokio::task::spawn(async move {
        let _postgres = postgres;
        panic!("a failing test");
    })
    .await
    .unwrap_err();
    assert!(panicked.is_panic());
    assert!(!dir.exists(), "{} removed on unwind", dir.display());
    assert!(
        TcpStream::connect(&address).is_err(),
        "no server on {address} after unwind"
    );
}
