//! Services started in-process on 127.0.0.1:0, the way their `main` starts them.

use sensorpipe::service::Service;
use std::net::SocketAddr;

use clap::Parser;
use tokio::{sync::oneshot, task::JoinHandle};

/// An ingest service serving in a task of the test's runtime.
pub struct RunningIngest {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<()>,
}

impl RunningIngest {
    /// Ingest publishing to `topic`, listening on `addr` (port 0 picks one); `args` are extra flags.
    pub async fn start(addr: SocketAddr, brokers: &str, topic: &str, args: &[&str]) -> Self {
        let listen = addr.to_string();
        let base = [
            "ingest",
            "--listen-addr",
            &listen,
            "--kafka-brokers",
            brokers,
            "--kafka-topic",
            topic,
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
        Self { addr, stop, served }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A graceful stop: drains, acks what Kafka confirmed, ends streams.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.served.await.expect("ingest stopped cleanly");
    }

    /// A crash: connections drop mid-stream, nothing is drained.
    pub async fn kill(self) {
        self.served.abort();
        let _ = self.served.await;
    }
}

/// A saver consuming `topic` into `database_url`, in a task of the test's runtime.
pub struct RunningSaver {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<()>,
}

impl RunningSaver {
    /// A saver on port 0 in its own consumer group `group`; `args` are extra flags.
    pub async fn start(
        brokers: &str,
        topic: &str,
        group: &str,
        database_url: &str,
        args: &[&str],
    ) -> Self {
        let base = [
            "saver",
            "--listen-addr",
            "127.0.0.1:0",
            "--kafka-brokers",
            brokers,
            "--kafka-topic",
            topic,
            "--group-id",
            group,
            "--database-url",
            database_url,
        ];
        let config = saver::Config::parse_from(base.iter().chain(args));
        let app = saver::Application::build(config)
            .await
            .expect("saver starts");
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel();
        let served = tokio::spawn(async move {
            app.run_until_stopped(async { drop(stopped.await) })
                .await
                .expect("saver runs");
        });
        Self { addr, stop, served }
    }

    /// A graceful stop: stores and commits the batch in hand.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.served.await.expect("saver stopped cleanly");
    }
}

/// An admin service reading `database_url`, in a task of the test's runtime.
pub struct RunningAdmin {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<()>,
}

impl RunningAdmin {
    /// Admin on port 0 (the way `main` starts it); `args` are extra flags.
    pub async fn start(database_url: &str, args: &[&str]) -> Self {
        let base = [
            "admin",
            "--listen-addr",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ];
        let config = admin::Config::parse_from(base.iter().chain(args));
        let app = admin::Application::build(config)
            .await
            .expect("admin starts");
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel();
        let served = tokio::spawn(async move {
            app.run_until_stopped(async { drop(stopped.await) })
                .await
                .expect("admin serves");
        });
        Self { addr, stop, served }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A graceful stop: watches end, in-flight calls finish.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.served.await.expect("admin stopped cleanly");
    }
}
