//! The saver: consumes Kafka topic `temperatures` (group `measurement-saver`) and stores every
//! reading exactly once in table `measurements`, through crashes, restarts, rebalances,
//! redeliveries and bad records.
//!
//! # Layout
//! - [`config`]: flags and environment variables.
//! - `subscription`: the Kafka consumer (manual commits, bounded prefetch) and the lag gauge.
//! - `membership`: the saver's static identity in its group, so a restart resumes at once.
//! - `consume_loop`: batches by count or time; store, then commit; finish the batch at a stop.
//! - `decode`: each record into a row or a reject; repeats within a batch dropped.
//! - `store`: a batch's dead letters and rows, retried with backoff while PostgreSQL fails.
//! - `writer`: a binary `COPY` per part of a batch, `INSERT ... ON CONFLICT DO NOTHING` when
//!   a row is stored already, and finding bad rows.
//! - `summary`: `sensor_summaries`, added to from the rows each write inserted, in its transaction.
//! - `dead_letters`: the dead-letter topic with its headers.
//! - `commit`: offsets of stored batches only, and the final synchronous commit.
//! - `rebalance`: records of revoked partitions leave the batch uncommitted.
//! - `readiness`: health and `saver_database_up`, from batch writes and, while they say nothing,
//!   from probing PostgreSQL.
//! - `error`: what goes wrong ([`Error`]), and why a record is rejected.
//! - `metrics`: what `/metrics` counts.

mod commit;
pub mod config;
mod consume_loop;
mod dead_letters;
mod decode;
mod error;
mod membership;
mod metrics;
mod readiness;
mod rebalance;
mod store;
mod subscription;
mod summary;
mod writer;

use sensorpipe::{
    config::redact_password,
    db, grpc,
    service::{Service, Shutdown},
};
use tokio::{
    net::TcpListener,
    sync::{oneshot, watch},
};
use tonic::service::Routes;

pub use config::{Command, Config};
pub use error::Error;

use crate::{
    config::ReadinessArgs, consume_loop::Saver, dead_letters::DeadLetters, membership::instance_id,
    readiness::Readiness, subscription::create_consumer, writer::Writers,
};

/// Brings the database schema up to date; logs what it applied.
pub async fn migrate(config: &Config) -> Result<(), Error> {
    let url = config.database.database_url();
    let applied = db::run_migrations(url).await?;
    tracing::info!(database = %redact_password(url), applied = ?applied, "schema up to date");
    Ok(())
}

/// A migrated, subscribed, bound, not yet consuming saver.
pub struct Application {
    listener: TcpListener,
    routes: Routes,
    saver: Saver,
    readiness: Readiness,
    database_url: String,
    probe: ReadinessArgs,
}

impl Service for Application {
    type Config = Config;
    type Error = Error;

    /// Migrates the database, subscribes to the topic and binds the health/metrics listener.
    async fn build(config: Config) -> Result<Self, Error> {
        migrate(&config).await?;
        let listener = grpc::bind(config.listen_addr).await?;
        let (routes, health) = grpc::standard_routes(&[]).await?;
        let routes = Routes::from(
            routes
                .routes()
                .into_axum_router()
                .merge(sensorpipe::metrics::router()),
        );
        let readiness = Readiness::new(health).await;
        let instance_id = instance_id(
            &config.membership.instance_id,
            listener.local_addr().unwrap_or(config.listen_addr),
        );
        tracing::info!(
            instance_id = instance_id.as_deref().unwrap_or("none (dynamic member)"),
            group = %config.consumer.group_id,
            "joining the consumer group"
        );
        let consumer = create_consumer(
            &config.kafka,
            &config.consumer,
            &config.membership,
            instance_id.as_deref(),
        )?;
        let dead_letters = DeadLetters::new(&config.kafka, &config.consumer.kafka_dlq_topic)?;
        let writer = Writers::new(config.database.database_url(), config.consumer.writers);
        let saver = Saver::new(
            consumer,
            writer,
            dead_letters,
            config.consumer,
            readiness.clone(),
        );
        Ok(Self {
            listener,
            routes,
            saver,
            readiness,
            database_url: config.database.database_url().to_owned(),
            probe: config.readiness,
        })
    }

    fn listener(&self) -> &TcpListener {
        &self.listener
    }

    /// Consumes until `shutdown` resolves; then stops polling, stores and commits the batch in
    /// hand (within the shutdown grace), commits synchronously, and stops serving health. Fails
    /// when the consumer failed for good.
    async fn run_until_stopped(self, shutdown: impl Shutdown) -> Result<(), Error> {
        let probing = tokio::spawn(self.readiness.probe(self.database_url, self.probe));
        let (stopping, stopping_rx) = watch::channel(false);
        let mut consuming = tokio::spawn(self.saver.run(stopping_rx));
        let (serving_stop, serving_stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(grpc::serve(
            self.listener,
            sensorpipe::tls::Transport::Plain,
            self.routes,
            async {
                drop(serving_stopped.await);
            },
        ));
        let (saver, consumed) = tokio::select! {
            () = shutdown => {
                stopping.send_replace(true);
                consuming.await.expect("the consumer loop does not panic")
            }
            saver = &mut consuming => saver.expect("the consumer loop does not panic"),
        };
        saver.finish();
        probing.abort();
        drop(stopping);
        let _ = serving_stop.send(());
        serving.await.expect("the server task does not panic")?;
        consumed
    }
}
