//! Every metric of the ingest service, in one place. Together they answer "what happened to the
//! readings I sent": received = accepted + rejected, and accepted readings are either acked or
//! counted in a failed delivery.

use prometheus::{
    Histogram, IntCounter, IntCounterVec, IntGauge, exponential_buckets, register_histogram,
    register_int_counter, register_int_counter_vec, register_int_gauge,
};
use sensorpipe::metric;

metric!(READINGS_RECEIVED: IntCounter = register_int_counter!(
    "ingest_readings_received_total", "Readings received, valid or not"));
metric!(READINGS_ACCEPTED: IntCounter = register_int_counter!(
    "ingest_readings_accepted_total", "Readings that passed validation and were sent to Kafka"));
metric!(READINGS_REJECTED: IntCounterVec = register_int_counter_vec!(
    "ingest_readings_rejected_total", "Readings rejected by validation, by reason", &["reason"]));
metric!(READINGS_ACKED: IntCounter = register_int_counter!(
    "ingest_readings_acked_total", "Readings acknowledged to the caller after Kafka confirmed them"));
metric!(BATCHES_ACKED: IntCounter = register_int_counter!(
    "ingest_batches_acked_total", "Batches acknowledged"));
metric!(BATCHES_REFUSED: IntCounterVec = register_int_counter_vec!(
    "ingest_batches_refused_total",
    "Batches not acknowledged, by cause (invalid, overloaded, kafka_unavailable, shutting_down)",
    &["cause"]));
metric!(DELIVERY_FAILURES: IntCounter = register_int_counter!(
    "ingest_delivery_failures_total", "Batches whose Kafka delivery failed (the caller resends)"));
metric!(IN_FLIGHT_READINGS: IntGauge = register_int_gauge!(
    "ingest_in_flight_readings", "Readings sent to Kafka and not yet confirmed"));
metric!(IN_FLIGHT_BATCHES: IntGauge = register_int_gauge!(
    "ingest_in_flight_batches", "Batches being published, not yet acked"));
metric!(OPEN_STREAMS: IntGauge = register_int_gauge!(
    "ingest_open_streams", "StreamReadings calls in progress"));
metric!(ACK_LATENCY: Histogram = register_histogram!(
    "ingest_ack_latency_seconds",
    "From a batch's arrival to its ack (validation plus Kafka confirmation)",
    exponential_buckets(0.0005, 2.0, 16).expect("valid buckets")));
