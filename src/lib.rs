//! Shared code of the sensorpipe services.
//!
//! # Layout
//! - [`proto`]: the generated Protobuf contract (`sensorpipe.v1`) and its descriptor set.
//! - [`reading`]: what a valid reading is, shared by ingest and saver.
//! - [`config`]: settings every service shares (telemetry, Kafka, database), read from flags and
//!   the same environment variables locally and in `docker-compose.yml`.
//! - [`kafka_properties`]: `--kafka-config-file`, librdkafka settings (TLS, SASL) for every Kafka
//!   client, with the keys the delivery promises rest on refused.
//! - [`telemetry`]: tracing set-up, text or JSON logs; [`backoff`]: the pause between retries.
//! - [`service`]: the build → bind → run-until-stopped shape every service has.
//! - [`shutdown`]: SIGINT/SIGTERM as a future, and a grace period for draining.
//! - [`grpc`] (feature `grpc`): health and reflection services for every gRPC port, and the
//!   serve loop (gRPC and HTTP on one port); [`metrics`]: `/metrics` in Prometheus text format;
//!   [`tls`]: TLS and mTLS on that port, from [`config::TlsArgs`].
//! - [`auth`] (feature `auth`): bearer tokens with scopes, the tokens file, the request guard.
//! - [`kafka`] (feature `kafka`): producer/consumer builders and the record encoding.
//! - [`db`] (feature `db`): the `measurements` schema, connection pool and embedded migrations.
//!
//! What tests share (the local stack, services started in tests) is in the dev-only crate
//! `testkit`, not here.

pub mod backoff;
pub mod config;
pub mod kafka_properties;
pub mod proto;
pub mod reading;
pub mod service;
pub mod shutdown;
pub mod telemetry;

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "db")]
pub mod db;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "grpc")]
pub mod http_error;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "grpc")]
pub mod metrics;
#[cfg(feature = "grpc")]
pub mod tls;
