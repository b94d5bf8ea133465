//! The whole pipeline end to end, every component real: the generator's readings (some broken on
//! purpose) go over one gRPC stream to ingest, through a fresh Kafka topic to the saver, into a
//! fresh PostgreSQL database, and come back out of the admin service's `ListMeasurements`, page by
//! page: exactly the accepted readings, each once, with every field, newest first.

mod support;

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use generator::signal::micros_from_timestamp;
use prost_types::Timestamp;
use sensorpipe::proto::v1::{
    ListMeasurementsRequest, ListSensorsRequest, admin_service_client::AdminServiceClient,
};
use tokio::time::{Instant, MissedTickBehavior};
use tonic::transport::Channel;

use support::{Replayable, run_generator, start_admin, start_ingest, start_saver};
const COUNT: u64 = 5_000;
const SENSORS: u32 = 20;
const SEED: u64 = 20261127;
const BAD_RATE: f64 = 0.05;
/// Most rows per `ListMeasurements` page; not a divisor of the count, so the last page is short.
const PAGE_SIZE: i32 = 700;
/// How long the saver gets to store every accepted reading.
const STORE_DEADLINE: Duration = Duration::from_secs(120);

/// `(sensor_id, measured_at in µs)`: a reading's identity from sensor to table.
type Identity = (String, i64);

fn micros(at: Option<&Timestamp>) -> i64 {
    micros_from_timestamp(at.expect("a time is set"))
}

/// The sum of `measurement_count` over every sensor the admin lists.
async fn stored_count(client: &mut AdminServiceClient<Channel>) -> u64 {
    let mut total = 0;
    let mut page_token = String::new();
    loop {
        let page = client
            .list_sensors(ListSensorsRequest {
                page_size: 1000,
                page_token,
            })
            .await
            .expect("ListSensors answers")
            .into_inner();
        total += page
            .sensors
            .iter()
            .map(|s| s.measurement_count)
            .sum::<u64>();
        if page.next_page_token.is_empty() {
            return total;
        }
        page_token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_accepted_reading_comes_back_from_the_admin_once() {
    let (brokers, topic) = testkit::fresh_topic("query", 3).await;
    let (_, dead_letters) = testkit::fresh_topic("query-dlq", 1).await;
    let database_url = testkit::fresh_database("query_path").await;
    let ingest = start_ingest(&brokers, &topic, &[]).await;
    let saver = start_saver(
        &brokers,
        &topic,
        &testkit::unique_name("query-saver"),
        &database_url,
        &["--kafka-dlq-topic", &dead_letters],
    )
    .await;
    let admin = start_admin(&database_url, &[]).await;

    let run = Replayable::new(COUNT, SENSORS, SEED, BAD_RATE);
    let summary = run_generator(run.config(&ingest.url(""), 250)).await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(summary.sent, COUNT, "{summary}");
    assert!(summary.injected_bad > 0, "{summary}");
    assert_eq!(
        (summary.rejected, summary.accepted),
        (summary.injected_bad, COUNT - summary.injected_bad),
        "exactly the broken readings rejected: {summary}"
    );

    // What the generator made, replayed: the good readings are the ones that must come back.
    let mut signal = run.signal();
    let mut made: HashMap<Identity, f64> = HashMap::new();
    for _ in 0..COUNT {
        let generated = signal.next_reading(0);
        if generated.bad.is_none() {
            let reading = generated.reading;
            let at = micros(reading.measured_at.as_ref());
            made.insert((reading.sensor_id, at), reading.celsius);
        }
    }
    assert_eq!(
        made.len() as u64,
        summary.accepted,
        "the replay matches the run"
    );
    // ... and what ingest stamped on each, from the topic.
    let in_topic: HashMap<Identity, i64> = testkit::read_topic(&brokers, &topic)
        .await
        .into_iter()
        .map(|s| (s.identity(), micros(s.record.ingested_at.as_ref())))
        .collect();
    assert_eq!(
        in_topic.len() as u64,
        summary.accepted,
        "the topic holds the accepted readings"
    );

    // The saver stores them: the admin's counts reach the accepted readings.
    let mut client = AdminServiceClient::connect(admin.url(""))
        .await
        .expect("connect to admin");
    let deadline = Instant::now() + STORE_DEADLINE;
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        poll.tick().await;
        let stored = stored_count(&mut client).await;
        assert!(
            stored <= summary.accepted,
            "{stored} rows stored for {} accepted readings",
            summary.accepted
        );
        if stored == summary.accepted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stored} of {} readings queryable after {STORE_DEADLINE:?}",
            summary.accepted
        );
    }

    // Every page, newest first, each accepted reading once with what was sent and stamped.
    let request = ListMeasurementsRequest {
        page_size: PAGE_SIZE,
        ..Default::default()
    };
    let pages = testkit::list_pages(&mut client, &request, COUNT as usize).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    let measurements = pages.concat();
    let full_pages = sizes.len() - 1;
    assert!(
        sizes[..full_pages].iter().all(|&n| n == PAGE_SIZE as usize)
            && (1..=PAGE_SIZE as usize).contains(&sizes[full_pages]),
        "full pages, then a last one: {sizes:?}"
    );
    assert_eq!(
        measurements.len() as u64,
        summary.accepted,
        "no row missing, none repeated"
    );
    let mut previous: Option<(i64, String)> = None;
    let mut seen: HashMap<Identity, ()> = HashMap::new();
    for m in &measurements {
        let at = micros(m.measured_at.as_ref());
        let identity = (m.sensor_id.clone(), at);
        let celsius = made
            .get(&identity)
            .unwrap_or_else(|| panic!("{identity:?} was never an accepted reading"));
        assert_eq!(m.celsius, *celsius, "{identity:?}: celsius as sent");
        let ingested_at = micros(m.ingested_at.as_ref());
        assert_eq!(
            Some(&ingested_at),
            in_topic.get(&identity),
            "{identity:?}: ingested_at as ingest stamped it"
        );
        assert!(
            micros(m.saved_at.as_ref()) >= ingested_at,
            "{identity:?}: saved before it was ingested"
        );
        let key = (at, m.sensor_id.clone());
        if let Some(previous) = &previous {
            assert!(previous > &key, "newest first: {previous:?} then {key:?}");
        }
        previous = Some(key);
        assert!(seen.insert(identity, ()).is_none(), "each reading once");
    }

    // ListSensors agrees: every sensor, its count and its newest reading.
    let mut by_sensor: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
    for (sensor, at) in made.keys() {
        let entry = by_sensor.entry(sensor).or_insert((0, i64::MIN));
        entry.0 += 1;
        entry.1 = entry.1.max(*at);
    }
    let sensors = client
        .list_sensors(ListSensorsRequest {
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("ListSensors answers")
        .into_inner();
    assert!(
        sensors
            .sensors
            .windows(2)
            .all(|w| w[0].sensor_id < w[1].sensor_id),
        "sensors ordered by sensor_id"
    );
    let listed: BTreeMap<&str, (u64, i64)> = sensors
        .sensors
        .iter()
        .map(|s| {
            let latest = s.latest.as_ref().expect("a latest reading");
            (
                s.sensor_id.as_str(),
                (s.measurement_count, micros(latest.measured_at.as_ref())),
            )
        })
        .collect();
    assert_eq!(listed, by_sensor, "per sensor: count and newest reading");

    // Nothing was dead-lettered: ingest let only good readings through.
    assert!(
        testkit::read_topic(&brokers, &dead_letters)
            .await
            .is_empty(),
        "no dead letters"
    );

    admin.stop().await;
    saver.stop().await;
    ingest.stop().await;
}
