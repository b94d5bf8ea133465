//! The ingest binary as its own process, against a real Kafka: memory under a fast sender, a Kafka
//! outage, and a crash of ingest itself mid-stream. A process of its own gives it its own memory,
//! its own metrics, and a real SIGKILL.

mod auth_default;
mod bounded_memory;
mod helpers;
mod kafka_outage;
mod restart;
