//! Records that cannot be stored (not protobuf at all, or a reading the table cannot hold) go to
//! the dead-letter topic with headers naming the error and their origin; the good records around
//! them are stored and the partition keeps moving.

use std::collections::HashMap;

use sensorpipe::kafka;

use crate::helpers::{Setup, readings, start_saver};

#[tokio::test(flavor = "multi_thread")]
async fn poison_goes_to_the_dead_letter_topic_and_the_partition_moves_on() {
    let setup = Setup::new(1).await;
    let good = readings(30, 3);
    let mut nan = good[0].clone();
    nan.celsius = f64::NAN;
    let mut bad_id = good[1].clone();
    bad_id.sensor_id = "not a sensor id".into();
    let mut no_time = good[2].clone();
    no_time.measured_at = None;

    let encode =
        |r: &sensorpipe::proto::v1::ReadingRecord| (r.sensor_id.clone(), kafka::encode_record(r));
    let mut values: Vec<(String, Vec<u8>)> = good[..10].iter().map(encode).collect();
    values.push(("garbage".into(), vec![0xff, 0xfe, 0x00, 0x01]));
    values.extend(good[10..20].iter().map(encode));
    values.push(encode(&nan));
    values.push(encode(&bad_id));
    values.push(encode(&no_time));
    values.extend(good[20..].iter().map(encode));
    setup.produce_raw(&values).await;

    let saver = start_saver(&setup, &[]).await;
    setup.assert_stored_exactly(&good).await;
    saver.stop().await;

    // The dead letters: the four poison records, unchanged, with their origin.
    let letters = testkit::read_topic_raw(&setup.brokers, &setup.dlq).await;
    assert_eq!(letters.len(), 4, "{letters:?}");
    let by_offset: HashMap<i64, &testkit::RawRecord> = letters
        .iter()
        .map(|l| (l.headers["sensorpipe.source.offset"].parse().unwrap(), l))
        .collect();
    let expect = [
        (10, "decode", "not a ReadingRecord"),
        (21, "invalid", "celsius NaN"),
        (22, "invalid", "sensor_id"),
        (23, "invalid", "measured_at is missing"),
    ];
    for (offset, kind, error) in expect {
        let letter = by_offset
            .get(&offset)
            .unwrap_or_else(|| panic!("offset {offset} not dead-lettered"));
        assert_eq!(letter.headers["sensorpipe.error.kind"], kind);
        assert!(
            letter.headers["sensorpipe.error"].contains(error),
            "{:?}",
            letter.headers
        );
        assert_eq!(letter.headers["sensorpipe.source.topic"], setup.topic);
        assert_eq!(letter.headers["sensorpipe.source.partition"], "0");
        assert_eq!(
            letter.value, values[offset as usize].1,
            "the record itself, unchanged"
        );
    }
}
