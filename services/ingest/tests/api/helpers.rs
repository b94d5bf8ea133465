//! Starts the real `Application` on port 0 with a topic of its own, and reads that topic back.

use std::{
    collections::HashMap,
    time::{SystemTime, UNIX_EPOCH},
};

use prost_types::Timestamp;
use sensorpipe::proto::v1::{Reading, ingest_service_client::IngestServiceClient};
use testkit::{RunningService, StoredRecord};
use tonic::transport::Channel;

pub struct TestApp {
    pub service: RunningService<ingest::Application>,
    pub brokers: String,
    pub topic: String,
}

impl TestApp {
    /// Ingest on 127.0.0.1:0 publishing to a fresh 3-partition topic; `args` are extra flags.
    pub async fn spawn(args: &[&str]) -> Self {
        let (brokers, topic) = testkit::fresh_topic("ingest", 3).await;
        let base = ["--kafka-brokers", &brokers, "--kafka-topic", &topic];
        let service = RunningService::start_on_port_0(&base, args).await;
        Self {
            service,
            brokers,
            topic,
        }
    }

    pub async fn client(&self) -> IngestServiceClient<Channel> {
        IngestServiceClient::connect(self.url("")).await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        self.service.url(path)
    }

    /// Stops the service and waits until it has drained.
    pub async fn stop(self) {
        self.service.stop().await;
    }

    /// Stops the service (it drains), then returns every record in its topic.
    pub async fn stop_and_read(self) -> Vec<StoredRecord> {
        let (brokers, topic) = (self.brokers.clone(), self.topic.clone());
        self.stop().await;
        testkit::read_topic(&brokers, &topic).await
    }

    /// Every record in the topic.
    pub async fn stored(&self) -> Vec<StoredRecord> {
        testkit::read_topic(&self.brokers, &self.topic).await
    }
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A valid reading, `second` seconds before now.
pub fn good(sensor: &str, seconds_ago: i64, celsius: f64) -> Reading {
    Reading {
        sensor_id: sensor.into(),
        measured_at: Some(Timestamp {
            seconds: now_secs() - seconds_ago,
            nanos: 123_456_789,
        }),
        celsius,
    }
}

/// Records by identity, for exact comparisons.
pub fn by_identity(stored: &[StoredRecord]) -> HashMap<(String, i64), &StoredRecord> {
    stored.iter().map(|s| (s.identity(), s)).collect()
}
