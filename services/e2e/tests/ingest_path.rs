//! The ingest path end to end with the real generator, the real ingest and the real Kafka:
//! every accepted reading is in the topic exactly once, keyed by its sensor, with the fields the
//! generator made, in per-sensor order; deliberately bad readings come back as rejects.

mod support;

use std::collections::HashMap;

use support::{Replayable, generator_config, run_generator, start_ingest};

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_readings_over_one_stream_land_once_each() {
    const COUNT: u64 = 100_000;
    const SENSORS: u32 = 40;
    const SEED: u64 = 20261127;
    let (brokers, topic) = testkit::fresh_topic("path", 6).await;
    let ingest = start_ingest(&brokers, &topic, &[]).await;
    let run = Replayable::new(COUNT, SENSORS, SEED, 0.0);
    let summary = run_generator(run.config(&ingest.url(""), 500)).await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(
        (summary.sent, summary.accepted, summary.rejected),
        (COUNT, COUNT, 0),
        "{summary}"
    );
    assert_eq!(summary.undelivered, 0);

    let stored = testkit::read_topic(&brokers, &topic).await;
    assert_eq!(
        stored.len() as u64,
        COUNT,
        "exactly the accepted readings, no duplicates"
    );
    let by_identity: HashMap<(String, i64), _> = stored.iter().map(|s| (s.identity(), s)).collect();
    assert_eq!(
        by_identity.len() as u64,
        COUNT,
        "each (sensor_id, measured_at) once"
    );

    // What the generator made, replayed from the same seed and start.
    let mut signal = run.signal();
    for _ in 0..COUNT {
        let reading = signal.next_reading(0).reading;
        let at = reading.measured_at.unwrap();
        let identity = (
            reading.sensor_id.clone(),
            at.seconds * 1_000_000 + i64::from(at.nanos / 1000),
        );
        let s = by_identity
            .get(&identity)
            .unwrap_or_else(|| panic!("{identity:?} missing"));
        assert_eq!(s.key, reading.sensor_id, "keyed by sensor id");
        assert_eq!(s.record.celsius, reading.celsius, "{identity:?}");
        assert!(s.record.ingested_at.is_some());
    }

    // Per-sensor order: one partition per sensor, measured_at growing with the offset.
    let mut last: HashMap<&str, (i32, i64, i64)> = HashMap::new();
    for s in &stored {
        let (_, at) = s.identity();
        if let Some((partition, offset, previous)) =
            last.insert(&s.key, (s.partition, s.offset, at))
        {
            assert_eq!(partition, s.partition, "{} spans partitions", s.key);
            if offset < s.offset {
                assert!(
                    at > previous,
                    "{} out of order in partition {partition}",
                    s.key
                );
            }
        }
    }
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deliberately_bad_readings_come_back_as_rejects_and_never_reach_kafka() {
    let (brokers, topic) = testkit::fresh_topic("bad", 3).await;
    let ingest = start_ingest(&brokers, &topic, &[]).await;
    let config = generator_config(
        &ingest.url(""),
        &[
            "--rate",
            "0",
            "--count",
            "20000",
            "--sensors",
            "20",
            "--bad-rate",
            "0.05",
            "--seed",
            "7",
        ],
    );
    let summary = run_generator(config).await;
    assert!(summary.is_success(), "{summary}");
    assert!(summary.injected_bad > 500, "{summary}");
    assert_eq!(
        summary.rejected, summary.injected_bad,
        "every injected bad reading rejected, nothing else"
    );
    assert_eq!(summary.accepted + summary.rejected, 20_000);
    assert!(
        summary.rejects_by_reason.len() >= 5,
        "every rule exercised: {:?}",
        summary.rejects_by_reason
    );

    let stored = testkit::read_topic(&brokers, &topic).await;
    assert_eq!(stored.len() as u64, summary.accepted);
    ingest.stop().await;
}
