//! Paging through a known data set: every row once, in order, with every page size, with
//! filters, and while new rows arrive.

use std::collections::HashSet;

use sensorpipe::proto::v1;

use testkit::list_pages;

use crate::helpers::{TestApp, at, dataset, key, newest_first, row, timestamp};

#[tokio::test(flavor = "multi_thread")]
async fn every_page_size_returns_each_row_once_in_order() {
    let mut app = TestApp::spawn().await;
    let rows = dataset();
    app.save(&rows).await;
    let expected = newest_first(&rows);

    for page_size in [0, 1, 2, 3, 7, 10, 99, 100, 740, 741, 742, 1000] {
        let request = v1::ListMeasurementsRequest {
            page_size,
            ..Default::default()
        };
        let pages = list_pages(&mut app.grpc.clone(), &request, 1000).await;
        let size = if page_size == 0 {
            100
        } else {
            page_size as usize
        };
        let (last, full) = pages.split_last().unwrap();
        assert!(
            full.iter().all(|p| p.len() == size) && !last.is_empty() && last.len() <= size,
            "page size {page_size}: every page but the last is full, the last is not empty"
        );
        let got: Vec<_> = pages.iter().flatten().map(key).collect();
        assert_eq!(got, expected, "page size {page_size}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_stays_exact_while_rows_arrive() {
    let mut app = TestApp::spawn().await;
    let rows = dataset();
    app.save(&rows).await;
    let original: HashSet<_> = newest_first(&rows).into_iter().collect();

    let mut request = v1::ListMeasurementsRequest {
        page_size: 50,
        ..Default::default()
    };
    let mut seen = Vec::new();
    for page_number in 0.. {
        let page = app
            .grpc
            .list_measurements(request.clone())
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.measurements.iter().map(key));
        if page.next_page_token.is_empty() {
            break;
        }
        // Between pages, rows arrive: newer than all, older than all, and right at the cursor's
        // instant (ties), for sensors that sort before and after the cursor's sensor.
        let last = key(page.measurements.last().unwrap());
        let second = last.1.timestamp() - 1_780_000_000;
        app.save(&[
            row(&format!("new-{page_number}"), 1000 + page_number, 0),
            row(&format!("old-{page_number}"), -1000 - page_number, 0),
            row(
                &format!("0tie-{page_number}"),
                second,
                last.1.timestamp_subsec_micros(),
            ),
            row(
                &format!("zz-tie-{page_number}"),
                second,
                last.1.timestamp_subsec_micros(),
            ),
        ])
        .await;
        request.page_token = page.next_page_token;
    }

    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no row was returned twice");
    assert!(
        original.is_subset(&unique),
        "every row that existed before paging began was returned ({} missing)",
        original.difference(&unique).count()
    );
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    assert_eq!(
        seen, sorted,
        "pages stay newest first across the whole walk"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_by_sensor_and_time_range() {
    let mut app = TestApp::spawn().await;
    let rows = dataset();
    app.save(&rows).await;
    let matching = |f: &dyn Fn(&sensorpipe::db::NewMeasurement) -> bool| {
        let rows: Vec<_> = rows.iter().filter(|r| f(r)).cloned().collect();
        newest_first(&rows)
    };
    let list = async |request: v1::ListMeasurementsRequest| {
        let pages = list_pages(&mut app.grpc.clone(), &request, 100).await;
        pages.iter().flatten().map(key).collect::<Vec<_>>()
    };

    let one_sensor = list(v1::ListMeasurementsRequest {
        page_size: 7,
        sensor_id: "a".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(one_sensor, matching(&|r| r.sensor_id == "a"));

    // start_time inclusive, end_time exclusive, to the microsecond.
    let (start, end) = (at(11, 123_456), at(20, 0));
    let range = list(v1::ListMeasurementsRequest {
        page_size: 9,
        start_time: timestamp(start),
        end_time: timestamp(end),
        ..Default::default()
    })
    .await;
    assert_eq!(
        range,
        matching(&|r| r.measured_at >= start && r.measured_at < end)
    );
    assert!(
        range.iter().any(|k| k.1 == start),
        "start_time is inclusive"
    );

    let both = list(v1::ListMeasurementsRequest {
        sensor_id: "Z.rare:1".into(),
        start_time: timestamp(at(30, 0)),
        ..Default::default()
    })
    .await;
    assert_eq!(
        both,
        matching(&|r| r.sensor_id == "Z.rare:1" && r.measured_at >= at(30, 0))
    );

    let empty = list(v1::ListMeasurementsRequest {
        start_time: timestamp(start),
        end_time: timestamp(start),
        ..Default::default()
    })
    .await;
    assert!(
        empty.is_empty(),
        "an empty range is not an error, and empty"
    );

    let unknown = list(v1::ListMeasurementsRequest {
        sensor_id: "nobody".into(),
        ..Default::default()
    })
    .await;
    assert!(unknown.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sensors_are_listed_with_their_latest_reading_and_count_in_pages() {
    let mut app = TestApp::spawn().await;
    let rows = dataset();
    app.save(&rows).await;
    let mut expected: Vec<(String, u64, (String, chrono::DateTime<chrono::Utc>))> = Vec::new();
    let mut ids: Vec<_> = rows.iter().map(|r| r.sensor_id.clone()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let own: Vec<_> = rows.iter().filter(|r| r.sensor_id == id).collect();
        let latest = own.iter().map(|r| r.measured_at).max().unwrap();
        expected.push((id.clone(), own.len() as u64, (id, latest)));
    }

    let mut request = v1::ListSensorsRequest {
        page_size: 2,
        ..Default::default()
    };
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = app
            .grpc
            .list_sensors(request.clone())
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.sensors.len() <= 2);
        for sensor in page.sensors {
            let latest = sensor.latest.as_ref().expect("latest set");
            assert_eq!(latest.sensor_id, sensor.sensor_id);
            got.push((sensor.sensor_id, sensor.measurement_count, key(latest)));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(got, expected);
    assert_eq!(pages, expected.len().div_ceil(2));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_query_is_served_by_an_index() {
    let mut app = TestApp::spawn().await;
    // Enough rows that a sequential scan would be visibly worse, saved in many transactions as
    // the saver does, then fresh statistics.
    for batch in 0..40 {
        app.execute(&format!(
            "INSERT INTO measurements (sensor_id, measured_at, celsius, ingested_at) \
             SELECT 'sensor-' || (i % 200), \
                    timestamptz '2026-01-01' + (i / 200) * interval '1 second', i % 40, now() \
               FROM generate_series({} + 1, {} + 5000) i",
            batch * 5000,
            batch * 5000
        ))
        .await;
    }
    app.execute("VACUUM ANALYZE measurements").await;
    let plans = admin::store::explain(&app.database_url).await.unwrap();
    assert_eq!(plans.len(), 6, "{plans:#?}");
    for (name, plan) in &plans {
        assert!(
            !plan.contains("Seq Scan"),
            "{name} scans the table:\n{plan}"
        );
        if name.starts_with("newest") {
            // The index gives the order: no sort of the matching rows.
            assert!(!plan.contains("Sort"), "{name} sorts:\n{plan}");
        }
    }
    app.stop().await;
}
