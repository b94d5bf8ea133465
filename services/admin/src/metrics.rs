//! Every metric of the admin service, in one place: calls by method and protocol, with their
//! outcome and latency, and the watchers.

use std::{future::Future, time::Instant};

use prometheus::{
    HistogramVec, IntCounter, IntCounterVec, IntGauge, exponential_buckets, register_histogram_vec,
    register_int_counter, register_int_counter_vec, register_int_gauge,
};
use sensorpipe::metric;

use sensorpipe::http_error::code_name;

use crate::error::AdminError;

metric!(REQUESTS: IntCounterVec = register_int_counter_vec!(
    "admin_requests_total",
    "Calls answered, by method, protocol (grpc, which includes gRPC-Web, or http) and code",
    &["method", "protocol", "code"]));
metric!(LATENCY: HistogramVec = register_histogram_vec!(
    "admin_request_duration_seconds",
    "Time to answer a call (for the watch: to open it), by method and protocol",
    &["method", "protocol"],
    exponential_buckets(0.0001, 2.0, 16).expect("valid buckets")));
metric!(WATCHERS: IntGauge = register_int_gauge!(
    "admin_watchers", "WatchMeasurements calls and SSE streams open"));
metric!(WATCHERS_CUT_OFF: IntCounter = register_int_counter!(
    "admin_watchers_cut_off_total", "Watchers cut off for falling too far behind"));

metric!(LIST_CACHE: IntCounterVec = register_int_counter_vec!(
    "admin_list_cache_events_total",
    "ListMeasurements first pages answered from memory (hit) or the database (miss), and the \
     snapshot checks that keep the cached answers fresh (check)",
    &["event"]));

#[derive(Debug, Clone, Copy)]
pub enum CacheOutcome {
    Hit,
    Miss,
    Check,
}

pub fn cache(event: CacheOutcome) {
    let event = match event {
        CacheOutcome::Hit => "hit",
        CacheOutcome::Miss => "miss",
        CacheOutcome::Check => "check",
    };
    LIST_CACHE.with_label_values(&[event]).inc();
}

/// The three methods, named as in the contract.
#[derive(Debug, Clone, Copy)]
pub enum Method {
    ListMeasurements,
    ListSensors,
    WatchMeasurements,
}

#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    Grpc,
    Http,
}

/// Runs one call and counts it, with its outcome and how long it took.
pub async fn observe<T>(
    method: Method,
    protocol: Protocol,
    call: impl Future<Output = Result<T, AdminError>>,
) -> Result<T, AdminError> {
    let started = Instant::now();
    let result = call.await;
    let method = match method {
        Method::ListMeasurements => "ListMeasurements",
        Method::ListSensors => "ListSensors",
        Method::WatchMeasurements => "WatchMeasurements",
    };
    let protocol = match protocol {
        Protocol::Grpc => "grpc",
        Protocol::Http => "http",
    };
    let code = match &result {
        Ok(_) => code_name(tonic::Code::Ok),
        Err(error) => code_name(error.code()),
    };
    REQUESTS.with_label_values(&[method, protocol, code]).inc();
    LATENCY
        .with_label_values(&[method, protocol])
        .observe(started.elapsed().as_secs_f64());
    result
}
