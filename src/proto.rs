//! The Protobuf contract, generated from `proto/` by `build.rs`.

/// Package `sensorpipe.v1`: readings, the Kafka record, the ingest and admin services.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("sensorpipe.v1");
}

/// Every file of the contract as an encoded `FileDescriptorSet`, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("sensorpipe_descriptor");

/// Fully qualified names of every service in the contract.
pub const SERVICE_NAMES: &[&str] = &["sensorpipe.v1.IngestService", "sensorpipe.v1.AdminService"];
