//! The shared stack's SASL_SSL listener (`scripts/stack start`: SCRAM-SHA-256 over TLS, on the
//! same broker as the PLAINTEXT one) and the client settings file the script writes for it, so a
//! test can run the services with `--kafka-config-file` against real authentication.

use std::path::PathBuf;

use sensorpipe::{
    kafka::{self, Cluster},
    kafka_properties::KafkaProperties,
};

use crate::{START_STACK, stack::answers_metadata, tools::stack_dir, unique_name};

/// The listener's address and its client settings (`KAFKA_SASL_BROKERS`,
/// `KAFKA_SASL_CONFIG_FILE` of `scripts/stack env`).
#[derive(Debug)]
pub struct SaslKafka {
    pub brokers: String,
    pub config_file: PathBuf,
    pub properties: KafkaProperties,
}

impl SaslKafka {
    pub fn cluster(&self) -> Cluster<'_> {
        Cluster {
            brokers: &self.brokers,
            properties: Some(&self.properties),
        }
    }

    /// `--kafka-config-file` as a flag value.
    pub fn config_file_arg(&self) -> &str {
        self.config_file.to_str().expect("a UTF-8 path")
    }

    /// The stack's SCRAM password, which no log may hold.
    pub fn password(&self) -> &str {
        self.properties
            .iter()
            .find_map(|(key, value)| (key == "sasl.password").then_some(value))
            .expect("the stack's client settings hold sasl.password")
    }
}

/// Panics with one line naming [`START_STACK`] unless the SASL_SSL listener answers a metadata
/// request with the stack's own settings. A broker started before the listener existed has none:
/// `scripts/stack stop kafka` first.
pub async fn require_sasl_kafka() -> SaslKafka {
    let brokers = std::env::var("KAFKA_SASL_BROKERS").unwrap_or_else(|_| "127.0.0.1:9094".into());
    let config_file = std::env::var_os("KAFKA_SASL_CONFIG_FILE")
        .filter(|file| !file.is_empty())
        .map_or_else(
            || stack_dir().join("kafka/client-sasl.properties"),
            PathBuf::from,
        );
    let hint = "`scripts/stack stop kafka` first if the broker predates the SASL_SSL listener";
    let properties = KafkaProperties::load(&config_file)
        .unwrap_or_else(|e| panic!("{e}: start the stack with `{START_STACK}` ({hint})"));
    let sasl = SaslKafka {
        brokers,
        config_file,
        properties,
    };
    let config = kafka::consumer_config(sasl.cluster(), &unique_name("probe"));
    if let Err(error) = answers_metadata(config).await {
        panic!(
            "Kafka's SASL_SSL listener is not reachable at {} ({error}): start it with `{START_STACK}` ({hint})",
            sasl.brokers
        );
    }
    sasl
}
