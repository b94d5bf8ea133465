//! Whether the saver can store, in one place: gRPC health (the server as a whole, service "")
//! and `saver_database_up` always say the same thing.
//!
//! Batch writes report their outcome. A saver with nothing to write learns nothing from them,
//! so while no write has succeeded within the probe interval (idle, or writes hanging), a probe
//! asks PostgreSQL itself (`SELECT 1`, bounded by a timeout): health then turns NOT_SERVING
//! within about interval + timeout of PostgreSQL going away, readings or not, and SERVING once
//! it answers again.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use sensorpipe::db;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{config::ReadinessArgs, metrics};

/// The saver's readiness; clones share it.
#[derive(Clone)]
pub struct Readiness {
    inner: Arc<Inner>,
}

struct Inner {
    health: HealthReporter,
    /// The state last reported; `None` before the first report.
    ready: tokio::sync::Mutex<Option<bool>>,
    /// When a batch write last succeeded.
    last_write: Mutex<Option<Instant>>,
}

impl Readiness {
    /// Ready: the saver is built only after PostgreSQL applied the migrations.
    pub async fn new(health: HealthReporter) -> Self {
        let readiness = Self {
            inner: Arc::new(Inner {
                health,
                ready: tokio::sync::Mutex::new(None),
                last_write: Mutex::new(None),
            }),
        };
        readiness.set(true).await;
        readiness
    }

    /// A batch write's outcome: stored, or failed because PostgreSQL did.
    pub async fn write_done(&self, stored: bool) {
        if stored {
            *self.inner.last_write.lock().expect("not poisoned") = Some(Instant::now());
        }
        self.set(stored).await;
    }

    /// Reports `ready` on health and the gauge; says whether it changed.
    async fn set(&self, ready: bool) -> bool {
        let mut state = self.inner.ready.lock().await;
        if *state == Some(ready) {
            return false;
        }
        *state = Some(ready);
        metrics::DATABASE_UP.set(i64::from(ready));
        let status = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.inner.health.set_service_status("", status).await;
        true
    }

    fn wrote_within(&self, period: Duration) -> bool {
        self.inner
            .last_write
            .lock()
            .expect("not poisoned")
            .is_some_and(|at| at.elapsed() < period)
    }

    /// Probes PostgreSQL every interval while writes say nothing; runs until aborted.
    pub async fn probe(self, database_url: String, args: ReadinessArgs) {
        let mut probe = Probe {
            database_url,
            timeout: args.database_probe_timeout,
            connection: None,
        };
        let mut ticks = tokio::time::interval(args.database_probe_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if self.wrote_within(args.database_probe_interval) {
                continue;
            }
            match probe.answers().await {
                Ok(()) => {
                    if self.set(true).await {
                        tracing::info!("PostgreSQL answers again: ready");
                    }
                }
                Err(error) => {
                    if self.set(false).await {
                        tracing::warn!(%error, "PostgreSQL does not answer: not ready");
                    }
                }
            }
        }
    }
}

/// `SELECT 1` on a connection of its own, kept between probes.
struct Probe {
    database_url: String,
    timeout: Duration,
    connection: Option<AsyncPgConnection>,
}

impl Probe {
    /// A kept connection that fails may only be stale (the server restarted since): a fresh one
    /// gets a second chance before PostgreSQL counts as gone.
    async fn answers(&mut self) -> Result<(), String> {
        if self.connection.is_some() && self.once().await.is_ok() {
            return Ok(());
        }
        self.once().await
    }

    async fn once(&mut self) -> Result<(), String> {
        let attempt = async {
            if self.connection.is_none() {
                let connection = db::connect(&self.database_url)
                    .await
                    .map_err(|e| e.to_string())?;
                self.connection = Some(connection);
            }
            let connection = self.connection.as_mut().expect("just set");
            connection
                .batch_execute("SELECT 1")
                .await
                .map_err(|e| e.to_string())
        };
        let outcome = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        };
        if outcome.is_err() {
            self.connection = None;
        }
        outcome
    }
}
