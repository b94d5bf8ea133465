//! `SendReadings`: each rule rejects one reading alone, with its index and reason, while the good
//! neighbours reach Kafka, keyed by sensor id, every field as sent.

use bytes::BufMut;
use prost_types::Timestamp;
use sensorpipe::proto::v1::{BatchAck, Reading, ReadingBatch, RejectReason};
use tonic::{
    Code,
    codec::{Codec, EncodeBuf, Encoder},
};

use crate::helpers::{TestApp, by_identity, good, now_secs};

/// One reading breaking each rule, between good ones; returns the batch and the expected rejects.
pub fn mixed_batch() -> (Vec<Reading>, Vec<(u32, RejectReason, &'static str)>) {
    let mut missing = good("s-missing", 0, 1.0);
    missing.measured_at = None;
    let readings = vec![
        good("site-1:room_2.t-3", 10, 21.5),
        good("bad id!", 10, 20.0),
        good("s-2", 10, -90.0),
        missing,
        good("s-future", -3600, 20.0),
        good("s-nan", 10, f64::NAN),
        good("s-hot", 10, 150.5),
        good(&"x".repeat(65), 10, 20.0),
        good("s-3", 10, 150.0),
    ];
    let rejects = vec![
        (1, RejectReason::InvalidSensorId, "sensor_id"),
        (3, RejectReason::MissingTimestamp, "measured_at"),
        (4, RejectReason::TimestampInFuture, "measured_at"),
        (5, RejectReason::TemperatureNotFinite, "celsius"),
        (6, RejectReason::TemperatureOutOfRange, "celsius"),
        (7, RejectReason::InvalidSensorId, "sensor_id"),
    ];
    (readings, rejects)
}

/// The ack and the topic agree with what `mixed_batch` sent.
pub async fn assert_mixed_batch_outcome(app: &TestApp, ack: &BatchAck, sent: &[Reading]) {
    let (_, expected) = mixed_batch();
    let got: Vec<_> = ack
        .rejects
        .iter()
        .map(|r| (r.index, r.reason(), r.field.as_str()))
        .collect();
    assert_eq!(got, expected);
    assert!(ack.rejects.iter().all(|r| !r.message.is_empty()));
    assert_eq!(ack.accepted, 3);

    let stored = app.stored().await;
    assert_eq!(
        stored.len(),
        3,
        "only the good readings reach Kafka: {stored:?}"
    );
    let stored = by_identity(&stored);
    for index in [0, 2, 8] {
        let reading = &sent[index];
        let at = reading.measured_at.unwrap();
        let micros = Timestamp {
            seconds: at.seconds,
            nanos: at.nanos - at.nanos % 1000,
        };
        let identity = micros.seconds * 1_000_000 + i64::from(micros.nanos / 1000);
        let s = stored[&(reading.sensor_id.clone(), identity)];
        assert_eq!(s.key, reading.sensor_id, "key = sensor id");
        assert_eq!(s.record.celsius, reading.celsius);
        let ingested = s.record.ingested_at.expect("ingest time set");
        assert!((ingested.seconds - now_secs()).abs() < 60);
    }
}

#[tokio::test]
async fn each_rule_rejects_only_its_reading() {
    let app = TestApp::spawn(&[]).await;
    let (readings, _) = mixed_batch();
    let ack = app
        .client()
        .await
        .send_readings(ReadingBatch {
            sequence: 41,
            readings: readings.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.sequence, 41);
    assert_mixed_batch_outcome(&app, &ack, &readings).await;
    app.stop().await;
}

#[tokio::test]
async fn empty_and_oversized_batches_name_the_readings_field() {
    let app = TestApp::spawn(&["--max-batch-size", "2"]).await;
    let mut client = app.client().await;
    let empty = client
        .send_readings(ReadingBatch::default())
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(
        empty.message().starts_with("readings:"),
        "{}",
        empty.message()
    );

    let three = vec![good("a", 1, 1.0), good("b", 1, 1.0), good("c", 1, 1.0)];
    let large = client
        .send_readings(ReadingBatch {
            sequence: 1,
            readings: three,
        })
        .await
        .unwrap_err();
    assert_eq!(large.code(), Code::InvalidArgument);
    assert!(large.message().contains("at most 2"), "{}", large.message());
    assert!(
        app.stored().await.is_empty(),
        "nothing of a refused batch is published"
    );
    app.stop().await;
}

/// Sends raw bytes as if they were a `ReadingBatch`.
#[derive(Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = BatchAck;
    type Encoder = RawEncoder;
    type Decoder = tonic_prost::ProstDecoder<BatchAck>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> Self::Decoder {
        Default::default()
    }
}

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

#[tokio::test]
async fn malformed_protobuf_is_refused_and_the_service_stays_up() {
    let app = TestApp::spawn(&[]).await;
    let channel = tonic::transport::Channel::from_shared(app.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = "/sensorpipe.v1.IngestService/SendReadings".parse().unwrap();
    // Field 2 (readings) announced as 100 bytes long, followed by 3.
    let garbage = vec![0x12, 100, 1, 2, 3];
    let status = grpc
        .unary(tonic::Request::new(garbage), path, RawCodec)
        .await
        .unwrap_err();
    // gRPC's own rule for unparsable messages is INTERNAL; the message says what failed.
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(status.message().contains("decode"), "{}", status.message());

    let ack = app
        .client()
        .await
        .send_readings(ReadingBatch {
            sequence: 2,
            readings: vec![good("s", 1, 1.0)],
        })
        .await
        .expect("still serving after a malformed message")
        .into_inner();
    assert_eq!(ack.accepted, 1);
    assert_eq!(app.stored().await.len(), 1);
    app.stop().await;
}
