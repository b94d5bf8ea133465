//! The ingest service against a real Kafka: every entry point, every rule, and what ends up in
//! the topic. One binary (zero2prod style) so the helpers compile once.

mod helpers;
mod http;
mod stream;
mod tls;
mod unary;
