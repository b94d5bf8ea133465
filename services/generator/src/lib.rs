//! The generator: simulated sensors streaming readings to the ingest service over one gRPC stream.
//!
//! So far only its configuration exists; the sensors and the stream arrive with the ingest issue.
#![deny(rust_2018_idioms)]
#![forbid(unsafe_code)]

mod config;

pub use config::Config;
