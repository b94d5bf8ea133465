//! The generator: simulated temperature sensors streaming readings to the ingest service over one
//! long-lived gRPC stream, with nothing lost across ingest restarts.
//!
//! # Layout
//! - [`config`](Config): flags and environment variables.
//! - [`signal`]: the simulated sensors, a deterministic (seeded) stream of readings.
//! - `timeline`: where simulated time starts and how fast it runs, so timestamps stay unique
//!   and never lie in the future.
//! - `source`: the signal cut into batches at the configured pace.
//! - `target`: `--ingest-url` as an endpoint, plaintext or TLS.
//! - `client` with `link`, `inflight` and `backoff`: the stream, the unacked batches and
//!   their resending after a reconnect.
//! - [`Summary`]: the end-of-run numbers; `stats`, `latency` and `progress` feed it.
//!
//! `main` only parses the config and calls [`run`], so tests run the same code against a fake
//! ingest on port 0.

mod backoff;
mod client;
mod config;
mod inflight;
mod latency;
mod link;
mod progress;
pub mod signal;
mod source;
mod stats;
mod summary;
mod target;
mod timeline;

use std::{future::Future, time::SystemTime};

use tokio::{sync::mpsc, time::Instant};

pub use config::{ClientTlsArgs, Config};
pub use summary::{Outcome, Summary};
pub use timeline::Timeline;

use client::{Client, Settings};
use signal::{Signal, SignalConfig, now_micros};
use source::Plan;
use target::Target;

/// Batches generated ahead of the client: enough to overlap generating with sending.
const SOURCE_QUEUE: usize = 2;

/// Generates and streams readings until the count or duration is reached (then waits for every
/// ack) or `shutdown` resolves (then waits for acks for the shutdown grace).
///
/// Errors only for a config it cannot run (a bad URL, a rate the sensors cannot produce). Every
/// other ending is a [`Summary`]; check [`Summary::is_success`].
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let target = Target::new(&config.ingest_url, &config.tls)?
        .with_token_file(config.token_file.as_deref())?;
    let seed = config.seed.unwrap_or_else(random_seed);
    let batch_size = Plan::effective_batch_size(config.batch_size, config.rate);
    let now_us = now_micros();
    let timeline = match (config.rate, config.start) {
        (0, None) => Timeline::unpaced(now_us, config.sensors, config.count),
        (0, Some(start)) => Timeline::starting_at(micros_since_epoch(start)),
        (_, Some(_)) => anyhow::bail!("--start needs --rate 0: a paced run follows the clock"),
        (rate, None) => Timeline::paced(now_us, config.sensors, rate, batch_size)?,
    };
    tracing::info!(
        seed,
        ingest_url = %config.ingest_url,
        sensors = config.sensors,
        rate = config.rate,
        batch_size,
        count = ?config.count,
        duration = ?config.duration,
        bad_rate = config.bad_rate,
        "generator starting (repeat with --seed {seed})"
    );
    let signal = Signal::new(SignalConfig {
        sensors: config.sensors,
        seed,
        start_us: timeline.start_us,
        interval_us: timeline.interval_us,
        bad_rate: config.bad_rate,
    });
    let plan = Plan {
        signal,
        batch_size,
        pace: Plan::pace_for(config.rate, batch_size),
        count: config.count,
        until: config.duration.map(|duration| started + duration),
    };
    let (batches, source) = mpsc::channel(SOURCE_QUEUE);
    let producer = source::spawn(plan, batches);
    let settings = Settings {
        target,
        max_unacked: config.max_unacked as usize,
        max_in_flight: config.max_in_flight as usize,
        give_up_after: config.give_up_after,
        shutdown_grace: config.shutdown_grace,
    };
    let finished = Client::new(settings, source).run(shutdown).await;
    producer.abort();
    Ok(Summary::new(
        finished.outcome,
        seed,
        &finished.stats,
        finished.undelivered,
        started.elapsed(),
    ))
}

fn micros_since_epoch(at: SystemTime) -> i64 {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_micros() as i64,
        Err(before) => -(before.duration().as_micros() as i64),
    }
}

/// A seed nobody chose: std's per-process random hash keys mixed with the clock.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    hasher.write_u128(nanos);
    hasher.finish()
}
