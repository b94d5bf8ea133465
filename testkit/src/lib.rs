//! Test support for the sensorpipe workspace, and nothing else: a dev-dependency of the crates
//! whose tests need it, never a normal dependency (it panics instead of returning errors, and
//! pulls in what only tests use).
//!
//! # Layout
//! - [`stack`]: the shared local stack (`scripts/stack start`): a fresh topic or database per
//!   test, and one line naming that command when Kafka or PostgreSQL is not there;
//!   [`require_sasl_kafka`]: its SASL_SSL listener and the client settings file for it.
//! - [`PrivateKafka`], [`PrivatePostgres`]: a broker or server of a test's own, for outages.
//! - [`topic`]: a whole test topic read back, to compare with what was sent.
//! - [`RunningService`]: a service started in-process on port 0, stopped or killed;
//!   [`ServiceProcess`]: a service binary as its own process.
//! - [`auth`]: a tokens file of the test's own, and tokens of any scope in it.
//! - [`metrics`]: a metric's value from a `/metrics` page; [`TempDir`]: scratch files, removed.
//! - [`tls`]: a throwaway CA and certificates, and TLS clients (tonic, reqwest) trusting it.
//! - [`rows`]: rows of `measurements` written straight into a test database; [`list_pages`]:
//!   every page `ListMeasurements` gives.
//! - [`envoy`]: the real Envoy from the repository's `envoy.yaml` in front of a test's admin,
//!   and Envoy's own verdict on a config.
//! - [`static_check`]: the Python checks of `stack/checks/` on a file and on broken copies;
//!   [`tools`]: the command-line tools the tests run; [`docs`]: the shell examples of README.md
//!   and docs/*.md, read as a reader reads them.

use std::path::{Path, PathBuf};

pub mod auth;
pub mod docs;
pub mod envoy;
pub mod metrics;
mod pages;
mod ports;
mod private_kafka;
mod private_postgres;
mod private_stack;
pub mod rows;
mod running_service;
mod sasl_kafka;
mod service_process;
pub mod stack;
pub mod static_check;
mod temp_dir;
pub mod tls;
pub mod tools;
pub mod topic;

pub use auth::TestTokens;
pub use metrics::{assert_exported, fetch_metrics, metric_value, scrape_metric};
pub use pages::list_pages;
pub use ports::{free_port, free_ports};
pub use private_kafka::PrivateKafka;
pub use private_postgres::PrivatePostgres;
pub use private_stack::PrivateStack;
pub use running_service::{LISTEN_ON_PORT_0, RunningService};
pub use sasl_kafka::{SaslKafka, require_sasl_kafka};
pub use service_process::ServiceProcess;
pub use stack::{
    START_STACK, database_url, fresh_database, fresh_topic, kafka_brokers, require_kafka,
};
pub use temp_dir::TempDir;
pub use topic::{RawRecord, StoredRecord, read_topic, read_topic_raw};

/// `prefix-<uuid>`: a topic, group or database name no other test (or run) uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// The root of the repository: `scripts/`, `stack/`, `README.md` and the local stack's `.stack/`
/// are found from it.
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}
