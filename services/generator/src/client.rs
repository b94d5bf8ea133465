//! The client loop: one long-lived `StreamReadings` call, unacked batches kept and resent after
//! any failure, and an orderly end.
//!
//! One task owns all the state (unacked batches, counters, the link) and reacts to one event at a
//! time: a new batch, an ack, the link failing or opening, Ctrl-C, the progress tick. No locks,
//! and every queue is bounded: the source's channel, the unacked buffer (`--max-unacked`) and each
//! stream's request channel (never fuller than the unacked buffer, and never holding more than
//! `--max-in-flight` batches on their way).
//!
//! Retry policy: a lost stream or a failed open is retried with capped exponential backoff as long
//! as the status can be transient (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`, transport errors, ...);
//! the give-up clock runs from the moment the link was lost and stops when a stream opens. A
//! status that retrying cannot fix (`INVALID_ARGUMENT`: this generator sent a malformed batch)
//! ends the run as failed.

use std::{future::Future, pin::Pin, time::Duration};

use tokio::{sync::mpsc, time::Instant};
use tonic::{Code, Status};

use crate::{
    backoff::Backoff,
    inflight::InFlight,
    link::{Link, LinkEvent},
    progress::Progress,
    source::Batch,
    stats::Stats,
    summary::Outcome,
    target::Target,
};

pub(crate) struct Settings {
    pub(crate) target: Target,
    pub(crate) max_unacked: usize,
    /// Most unacked batches out on the stream at once (the rest wait in `InFlight`).
    pub(crate) max_in_flight: usize,
    pub(crate) give_up_after: Duration,
    pub(crate) shutdown_grace: Duration,
}

/// What the loop leaves behind for the summary.
pub(crate) struct Finished {
    pub(crate) outcome: Outcome,
    pub(crate) stats: Stats,
    /// Readings still unacked.
    pub(crate) undelivered: u64,
}

pub(crate) struct Client {
    settings: Settings,
    /// `None` once the source is exhausted or the run was stopped: no more batches.
    source: Option<mpsc::Receiver<Batch>>,
    inflight: InFlight,
    stats: Stats,
    backoff: Backoff,
    streams_opened: u64,
    /// Since when no stream is open; `None` while one is.
    down_since: Option<Instant>,
}

enum Event {
    Stop(StopEvent),
    Link(LinkEvent),
    Batch(Option<Batch>),
    Progress,
}

impl Client {
    pub(crate) fn new(settings: Settings, source: mpsc::Receiver<Batch>) -> Self {
        Self {
            inflight: InFlight::with_window(settings.max_in_flight),
            settings,
            source: Some(source),
            stats: Stats::default(),
            backoff: Backoff::default(),
            streams_opened: 0,
            down_since: Some(Instant::now()),
        }
    }

    pub(crate) async fn run(mut self, shutdown: impl Future<Output = ()>) -> Finished {
        let mut stop = Stop::new(shutdown, self.settings.shutdown_grace);
        let mut link = Link::Down {
            retry_at: Instant::now(),
        };
        let mut progress = Progress::new();
        let outcome = loop {
            if self.source.is_none() && self.inflight.is_empty() {
                match link {
                    Link::Up(_) => link = link.close(),
                    Link::Closing { .. } => {}
                    Link::Down { .. } | Link::Opening(_) => break stop.outcome(),
                }
            }
            let taking = self.source.is_some() && self.inflight.len() < self.settings.max_unacked;
            let event = tokio::select! {
                event = stop.next() => Event::Stop(event),
                event = link.next_event() => Event::Link(event),
                batch = recv(&mut self.source), if taking => Event::Batch(batch),
                () = progress.tick() => Event::Progress,
            };
            let ended = match event {
                Event::Stop(event) => self.on_stop(event),
                Event::Link(event) => self.on_link(event, &mut link, &stop),
                Event::Batch(batch) => {
                    self.on_batch(batch, &link);
                    None
                }
                Event::Progress => {
                    progress.report(&self.stats, &self.inflight);
                    None
                }
            };
            if let Some(outcome) = ended {
                break outcome;
            }
        };
        Finished {
            outcome,
            undelivered: self.inflight.readings(),
            stats: self.stats,
        }
    }

    fn on_stop(&mut self, event: StopEvent) -> Option<Outcome> {
        match event {
            StopEvent::Requested => {
                self.source = None;
                tracing::info!(
                    unacked_batches = self.inflight.len(),
                    grace_secs = self.settings.shutdown_grace.as_secs_f64(),
                    "stopping: waiting for outstanding acks"
                );
                None
            }
            StopEvent::GraceOver => {
                tracing::warn!(
                    unacked_readings = self.inflight.readings(),
                    "shutdown grace over with readings unacked"
                );
                Some(Outcome::Interrupted)
            }
        }
    }

    fn on_batch(&mut self, batch: Option<Batch>, link: &Link) {
        let Some(batch) = batch else {
            self.source = None;
            tracing::info!(
                unacked_batches = self.inflight.len(),
                "all readings generated; waiting for acks"
            );
            return;
        };
        self.inflight.push(batch);
        if let Link::Up(stream) = link {
            self.inflight.send(&stream.requests, &mut self.stats);
        }
    }

    fn on_link<F>(&mut self, event: LinkEvent, link: &mut Link, stop: &Stop<F>) -> Option<Outcome> {
        match event {
            LinkEvent::RetryDue => {
                *link = Link::open(&self.settings.target, self.settings.max_unacked);
            }
            LinkEvent::Opened(stream) => {
                if self.streams_opened > 0 {
                    self.stats.reconnects += 1;
                    tracing::info!(
                        resending = self.inflight.len(),
                        "stream reopened, resending unacked batches"
                    );
                }
                self.streams_opened += 1;
                self.down_since = None;
                self.inflight.send_all(&stream.requests, &mut self.stats);
                *link = Link::Up(*stream);
            }
            LinkEvent::OpenFailed(status) => {
                return self.retry(status, link, "cannot open a stream");
            }
            LinkEvent::Lost(status) => return self.retry(status, link, "stream lost"),
            LinkEvent::Ack(ack) => {
                self.backoff.reset();
                self.inflight.ack(&ack, &mut self.stats);
                if let Link::Up(stream) = link {
                    self.inflight.send(&stream.requests, &mut self.stats);
                }
            }
            LinkEvent::Closed => return Some(stop.outcome()),
        }
        None
    }

    /// Schedules the next attempt, or ends the run when retrying cannot help or took too long.
    fn retry(&mut self, status: Status, link: &mut Link, what: &str) -> Option<Outcome> {
        if is_permanent(&status) {
            tracing::error!(code = ?status.code(), error = status.message(), "{what}: not retryable");
            return Some(Outcome::Failed {
                error: describe(&status),
            });
        }
        let now = Instant::now();
        let down_since = *self.down_since.get_or_insert(now);
        let give_up_at = down_since + self.settings.give_up_after;
        if now >= give_up_at {
            tracing::error!(
                code = ?status.code(),
                error = status.message(),
                "{what}; giving up after {:?}",
                self.settings.give_up_after
            );
            return Some(Outcome::GaveUp {
                error: describe(&status),
            });
        }
        let delay = self.backoff.next_delay(Some(&status));
        // One last attempt right at the deadline, then give up.
        let retry_at = (now + delay).min(give_up_at);
        tracing::warn!(
            code = ?status.code(),
            error = status.message(),
            retry_in_ms = retry_at.duration_since(now).as_millis() as u64,
            unacked_batches = self.inflight.len(),
            "{what}; retrying"
        );
        *link = Link::Down { retry_at };
        None
    }
}

/// Statuses that say this request is wrong or this server is the wrong one: sending the same
/// batches again cannot succeed.
fn is_permanent(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::InvalidArgument
            | Code::Unimplemented
            | Code::Unauthenticated
            | Code::PermissionDenied
            | Code::NotFound
            | Code::OutOfRange
    )
}

fn describe(status: &Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

async fn recv(source: &mut Option<mpsc::Receiver<Batch>>) -> Option<Batch> {
    match source {
        Some(source) => source.recv().await,
        None => std::future::pending().await,
    }
}

enum StopEvent {
    /// Ctrl-C or SIGTERM: stop generating, wait for the outstanding acks.
    Requested,
    /// The wait is over.
    GraceOver,
}

/// The shutdown future, then the grace period it starts.
struct Stop<F> {
    signal: Option<Pin<Box<F>>>,
    grace: Duration,
    grace_over_at: Option<Instant>,
}

impl<F> Stop<F> {
    fn outcome(&self) -> Outcome {
        if self.signal.is_none() {
            Outcome::Interrupted
        } else {
            Outcome::Completed
        }
    }
}

impl<F: Future<Output = ()>> Stop<F> {
    fn new(signal: F, grace: Duration) -> Self {
        Self {
            signal: Some(Box::pin(signal)),
            grace,
            grace_over_at: None,
        }
    }

    /// Cancel-safe: the pinned signal keeps its state between polls.
    async fn next(&mut self) -> StopEvent {
        if let Some(signal) = self.signal.as_mut() {
            signal.as_mut().await;
            self.signal = None;
            self.grace_over_at = Some(Instant::now() + self.grace);
            return StopEvent::Requested;
        }
        match self.grace_over_at {
            Some(at) => {
                tokio::time::sleep_until(at).await;
                StopEvent::GraceOver
            }
            None => std::future::pending().await,
        }
    }
}
