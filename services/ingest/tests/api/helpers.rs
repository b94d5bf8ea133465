//! Starts the real `Application` on port 0 with a topic of its own, and reads that topic back.

use sensorpipe::service::Service;
use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use clap::Parser;
use prost_types::Timestamp;
use sensorpipe::{
    proto::v1::{Reading, ingest_service_client::IngestServiceClient},
    testing::{self, StoredRecord},
};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

pub struct TestApp {
    pub addr: SocketAddr,
    pub brokers: String,
    pub topic: String,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<()>,
}

impl TestApp {
    /// Ingest on 127.0.0.1:0 publishing to a fresh 3-partition topic; `args` are extra flags.
    pub async fn spawn(args: &[&str]) -> Self {
        let (brokers, topic) = testing::fresh_topic("ingest", 3).await;
        let base = [
            "ingest",
            "--listen-addr",
            "127.0.0.1:0",
            "--kafka-brokers",
            &brokers,
            "--kafka-topic",
            &topic,
        ];
        let config = ingest::Config::parse_from(base.iter().chain(args));
        let app = ingest::Application::build(config)
            .await
            .expect("ingest starts");
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel();
        let served = tokio::spawn(async move {
            app.run_until_stopped(async { drop(stopped.await) })
                .await
                .expect("ingest serves");
        });
        Self {
            addr,
            brokers,
            topic,
            stop: Some(stop),
            served,
        }
    }

    pub async fn client(&self) -> IngestServiceClient<Channel> {
        IngestServiceClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the service and waits until it has drained.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.served).await.unwrap();
    }

    /// Stops the service (it drains), then returns every record in its topic.
    pub async fn stop_and_read(self) -> Vec<StoredRecord> {
        let (brokers, topic) = (self.brokers.clone(), self.topic.clone());
        self.stop().await;
        testing::read_topic(&brokers, &topic).await
    }

    /// Every record in the topic.
    pub async fn stored(&self) -> Vec<StoredRecord> {
        testing::read_topic(&self.brokers, &self.topic).await
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
