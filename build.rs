//! Compiles `proto/` into Rust with no system `protoc`: protox parses the files (well-known types
//! built in), tonic-prost-build generates messages, clients and servers. The encoded descriptor set
//! is written next to the code so the services can serve gRPC reflection from it.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTO_ROOT: &str = "proto";
const PROTO_FILES: &[&str] = &[
    "proto/sensorpipe/v1/reading.proto",
    "proto/sensorpipe/v1/ingest.proto",
    "proto/sensorpipe/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    // `db::MIGRATIONS` embeds this folder: a new migration must rebuild the binaries.
    println!("cargo:rerun-if-changed=migrations");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let descriptors = protox::compile(PROTO_FILES, [PROTO_ROOT])?;
    // `file_descriptor_set_path` writes nothing with `compile_fds`, so encode it ourselves.
    fs::write(
        out_dir.join("sensorpipe_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
