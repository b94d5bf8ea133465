//! The Protobuf contract: every message survives an encode/decode round trip with every field set,
//! and the embedded descriptor set (served by reflection) holds every service and message.

use prost::Message;
use prost_types::{FileDescriptorSet, Timestamp};
use sensorpipe::proto::{FILE_DESCRIPTOR_SET, SERVICE_NAMES, v1};

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds,
        nanos: 123_000,
    })
}

fn measurement() -> v1::Measurement {
    v1::Measurement {
        sensor_id: "lab-1:probe.2_x".into(),
        measured_at: ts(1_700_000_000),
        celsius: -12.25,
        ingested_at: ts(1_700_000_001),
        saved_at: ts(1_700_000_002),
    }
}

/// Encodes, decodes and compares; also checks that every field made it onto the wire.
fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(message: M) -> &'static str {
    let bytes = message.encode_to_vec();
    assert_eq!(M::decode(bytes.as_slice()).unwrap(), message);
    assert_ne!(
        message,
        M::default(),
        "set every field, or the test proves little"
    );
    std::any::type_name::<M>().rsplit("::").next().unwrap()
}

/// One populated instance of each message of `sensorpipe.v1`; returns the names it covered.
fn round_trip_every_message() -> Vec<&'static str> {
    let reading = v1::Reading {
        sensor_id: "s-1".into(),
        measured_at: ts(1_700_000_000),
        celsius: 21.5,
    };
    let reject = v1::ReadingReject {
        index: 3,
        reason: v1::RejectReason::TemperatureOutOfRange.into(),
        field: "celsius".into(),
        message: "celsius 180.5 is above the maximum 150".into(),
    };
    vec![
        round_trip(reading.clone()),
        round_trip(v1::ReadingRecord {
            sensor_id: "s-1".into(),
            measured_at: ts(1_700_000_000),
            celsius: 21.5,
            ingested_at: ts(1_700_000_001),
        }),
        round_trip(v1::ReadingBatch {
            sequence: u64::MAX,
            readings: vec![reading.clone(), reading],
        }),
        round_trip(v1::BatchAck {
            sequence: 7,
            accepted: 9,
            rejects: vec![reject.clone()],
        }),
        round_trip(reject),
        round_trip(measurement()),
        round_trip(v1::ListMeasurementsRequest {
            page_size: 100,
            page_token: "opaque".into(),
            sensor_id: "s-1".into(),
            start_time: ts(1),
            end_time: ts(2),
        }),
        round_trip(v1::ListMeasurementsResponse {
            measurements: vec![measurement()],
            next_page_token: "next".into(),
        }),
        round_trip(v1::ListSensorsRequest {
            page_size: 10,
            page_token: "t".into(),
        }),
        round_trip(v1::Sensor {
            sensor_id: "s-1".into(),
            latest: Some(measurement()),
            measurement_count: 42,
        }),
        round_trip(v1::ListSensorsResponse {
            sensors: vec![v1::Sensor::default()],
            next_page_token: "n".into(),
        }),
        round_trip(v1::WatchMeasurementsRequest {
            sensor_id: "s-1".into(),
            cursor: "c".into(),
        }),
        round_trip(v1::WatchMeasurementsResponse {
            measurement: Some(measurement()),
            cursor: "c".into(),
        }),
    ]
}

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the embedded descriptor set decodes")
}

#[test]
fn every_message_round_trips() {
    let mut covered = round_trip_every_message();
    covered.sort_unstable();
    let mut declared: Vec<String> = descriptors()
        .file
        .iter()
        .filter(|f| f.package() == "sensorpipe.v1")
        .flat_map(|f| f.message_type.iter().map(|m| m.name().to_owned()))
        .collect();
    declared.sort_unstable();
    assert_eq!(
        covered, declared,
        "each message of the contract needs a round trip above"
    );
}

#[test]
fn descriptor_set_has_every_service_and_rpc() {
    let services: Vec<(String, Vec<String>)> = descriptors()
        .file
        .iter()
        .flat_map(|f| {
            f.service.iter().map(move |s| {
                let methods = s.method.iter().map(|m| m.name().to_owned()).collect();
                (format!("{}.{}", f.package(), s.name()), methods)
            })
        })
        .collect();
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), SERVICE_NAMES.len(), "services: {names:?}");
    for name in SERVICE_NAMES {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    let methods = |service: &str| {
        services
            .iter()
            .find(|(n, _)| n == service)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(
        methods("sensorpipe.v1.IngestService"),
        ["StreamReadings", "SendReadings"]
    );
    assert_eq!(
        methods("sensorpipe.v1.AdminService"),
        ["ListMeasurements", "ListSensors", "WatchMeasurements"]
    );
}

#[test]
fn every_field_and_rpc_is_documented() {
    let set = descriptors();
    for file in set.file.iter().filter(|f| f.package() == "sensorpipe.v1") {
        let info = file
            .source_code_info
            .as_ref()
            .expect("source info kept for reflection docs");
        let documented: Vec<&Vec<i32>> = info
            .location
            .iter()
            .filter(|l| !l.leading_comments().trim().is_empty())
            .map(|l| &l.path)
            .collect();
        // Paths per descriptor.proto: 4 = message_type, 2 = field, 6 = service, 2 = method, 5 = enum, 2 = value.
        for (m, message) in file.message_type.iter().enumerate() {
            for (f, field) in message.field.iter().enumerate() {
                let path = vec![4, m as i32, 2, f as i32];
                assert!(
                    documented.contains(&&path),
                    "{}.{} has no comment",
                    message.name(),
                    field.name()
                );
            }
        }
        for (s, service) in file.service.iter().enumerate() {
            for (r, method) in service.method.iter().enumerate() {
                let path = vec![6, s as i32, 2, r as i32];
                assert!(
                    documented.contains(&&path),
                    "{}.{} has no comment",
                    service.name(),
                    method.name()
                );
            }
        }
        for (e, enumeration) in file.enum_type.iter().enumerate() {
            for (v, value) in enumeration.value.iter().enumerate() {
                let path = vec![5, e as i32, 2, v as i32];
                assert!(
                    documented.contains(&&path),
                    "{} has no comment",
                    value.name()
                );
            }
        }
    }
}
