//! `WatchMeasurements`: one poller reads newly saved rows once and fans them out to every
//! watcher, so a thousand watchers cost the database what one costs.
//!
//! Save order is `(save_xid, sensor_id, measured_at)` (see the migration). The poller only reads
//! rows below the horizon (every transaction below it has ended), so no row can appear later
//! behind a position already passed: a watcher that resumes from its cursor misses nothing.
//!
//! A watcher with a cursor first catches up from the database at its own pace, then joins the
//! live fan-out. Live rows go through a broadcast ring of `buffer` rows; a watcher that falls
//! further behind than that is cut off with `RESOURCE_EXHAUSTED` and the cursor to resume from,
//! so a stalled client never slows the poller or the other watchers.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::Stream;
use sensorpipe::db::Measurement;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::{error::AdminError, metrics, query::WatchQuery, store::Store, token::Position};

/// Rows per database read, for the poller and for catching up.
const PAGE: usize = 1000;

/// One saved row and its place in the save order.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub position: Position,
    pub measurement: Measurement,
}

pub type WatchItem = Result<Arc<Saved>, AdminError>;

type Joined = (broadcast::Receiver<Arc<Saved>>, Position);

/// How long a new watcher waits for the poller's first read of the database after startup.
const READY_WAIT: Duration = Duration::from_secs(5);

/// The shared poller and the fan-out; cheap to clone.
#[derive(Clone)]
pub struct Watch {
    store: Store,
    hub: Arc<Mutex<Hub>>,
    buffer: usize,
    stopping: watch::Receiver<bool>,
    /// True once the poller has read the database and `Hub::position` is set.
    ready: Arc<watch::Sender<bool>>,
}

/// What the lock keeps consistent: a watcher that subscribes and reads `position` together gets
/// exactly the rows after `position` from the ring.
struct Hub {
    ring: broadcast::Sender<Arc<Saved>>,
    /// Every row up to here has been sent to the ring; `None` until the database answered once.
    position: Option<Position>,
}

impl Watch {
    pub fn new(store: Store, buffer: usize, stopping: watch::Receiver<bool>) -> Self {
        // The poller sends up to a page at once, before anyone can read: a reader that keeps up
        // must never lag by that alone.
        let (ring, _) = broadcast::channel(buffer.max(1) + PAGE);
        Self {
            store,
            hub: Arc::new(Mutex::new(Hub {
                ring,
                position: None,
            })),
            buffer,
            stopping,
            ready: Arc::new(watch::channel(false).0),
        }
    }

    /// Polls the database every `interval` until the service stops.
    pub async fn run_poller(self, interval: Duration) {
        let mut stopping = self.stopping.clone();
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = stopped(&mut stopping) => return,
            }
            match self.poll_once().await {
                Ok(()) if !*self.ready.borrow() => {
                    self.ready.send_replace(true);
                    failing = false;
                }
                Ok(()) if failing => {
                    tracing::info!("watch poller reaches the database again");
                    failing = false;
                }
                Err(error) if !failing => {
                    tracing::warn!(%error, "watch poller cannot read the database; retrying");
                    failing = true;
                }
                _ => {}
            }
        }
    }

    /// Sends every row below the current horizon that the ring has not had yet.
    async fn poll_once(&self) -> Result<(), AdminError> {
        let horizon = self.store.horizon().await?;
        let mut after = {
            let mut hub = self.hub.lock().expect("watch hub lock");
            match &hub.position {
                Some(position) if position.xid >= horizon => return Ok(()),
                // Nobody listens: skip ahead without reading the rows.
                Some(_) if hub.ring.receiver_count() == 0 => {
                    hub.position = Some(Position::start_of(horizon));
                    return Ok(());
                }
                Some(position) => position.clone(),
                None => {
                    hub.position = Some(Position::start_of(horizon));
                    return Ok(());
                }
            }
        };
        loop {
            let rows = self.store.saved_after(&after, horizon, None, PAGE).await?;
            let more = rows.len() == PAGE;
            let mut hub = self.hub.lock().expect("watch hub lock");
            for (position, measurement) in rows {
                after = position.clone();
                // No receiver is fine: the next watcher starts from `hub.position`.
                let _ = hub.ring.send(Arc::new(Saved {
                    position,
                    measurement,
                }));
            }
            hub.position = Some(if more {
                after.clone()
            } else {
                Position::start_of(horizon)
            });
            if !more {
                return Ok(());
            }
        }
    }

    /// The rows saved after the query's cursor (or from now on), as they come, until the client
    /// goes away, falls too far behind or the service stops. Fails at once if the watch cannot
    /// read the database (yet).
    pub async fn subscribe(
        &self,
        query: WatchQuery,
    ) -> Result<impl Stream<Item = WatchItem> + use<>, AdminError> {
        let mut ready = self.ready.subscribe();
        if tokio::time::timeout(READY_WAIT, ready.wait_for(|ready| *ready))
            .await
            .is_err()
        {
            return Err(AdminError::Unavailable(
                "the watch cannot read the database yet".into(),
            ));
        }
        // From now on: join the ring during the call, so every row saved after it is delivered.
        let joined = match query.after {
            None => Some(self.join()?),
            Some(_) => None,
        };
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(self.clone().feed(query, joined, tx));
        Ok(ReceiverStream::new(rx))
    }

    /// A place in the ring and the position it starts after.
    fn join(&self) -> Result<Joined, AdminError> {
        let hub = self.hub.lock().expect("watch hub lock");
        let position = hub.position.clone().ok_or_else(not_ready)?;
        Ok((hub.ring.subscribe(), position))
    }

    async fn feed(self, query: WatchQuery, joined: Option<Joined>, tx: mpsc::Sender<WatchItem>) {
        metrics::WATCHERS.inc();
        let mut stopping = self.stopping.clone();
        tokio::select! {
            end = self.follow(&query, joined, &tx) => {
                if let Err(error) = end {
                    if matches!(error, AdminError::TooSlow { .. }) {
                        metrics::WATCHERS_CUT_OFF.inc();
                    }
                    let _ = tx.send(Err(error)).await;
                }
            }
            () = stopped(&mut stopping) => {
                let _ = tx.send(Err(AdminError::ShuttingDown)).await;
            }
        }
        metrics::WATCHERS.dec();
    }

    /// Catch up, join the ring, follow it. `Ok` when the client went away.
    async fn follow(
        &self,
        query: &WatchQuery,
        joined: Option<Joined>,
        tx: &mpsc::Sender<WatchItem>,
    ) -> Result<(), AdminError> {
        let sensor = query.sensor_id.as_deref();
        let (mut ring, mut last) = match (joined, &query.after) {
            (Some(joined), _) => joined,
            (None, None) => self.join()?,
            (None, Some(after)) => {
                // Catch up without holding a place in the ring, however long that takes ...
                let target = self.position()?;
                let reached = self.catch_up(after.clone(), &target, sensor, tx).await?;
                if tx.is_closed() {
                    return Ok(());
                }
                // ... then join it and close the (short) gap that opened meanwhile.
                let (ring, target) = self.join()?;
                let reached = if reached < target {
                    self.catch_up(reached, &target, sensor, tx).await?
                } else {
                    reached
                };
                (ring, reached)
            }
        };
        loop {
            match ring.recv().await {
                Ok(saved) => {
                    if saved.position <= last {
                        continue;
                    }
                    last = saved.position.clone();
                    if sensor.is_none_or(|id| id == saved.measurement.sensor_id)
                        && tx.send(Ok(saved)).await.is_err()
                    {
                        return Ok(());
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Err(AdminError::TooSlow {
                        buffer: self.buffer,
                        cursor: last.encode(),
                    });
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }

    fn position(&self) -> Result<Position, AdminError> {
        let hub = self.hub.lock().expect("watch hub lock");
        hub.position.clone().ok_or_else(not_ready)
    }

    /// Sends the rows after `after` up to and including `target`, from the database; returns
    /// the position reached (`target`, or `after` if that was already past it).
    async fn catch_up(
        &self,
        mut after: Position,
        target: &Position,
        sensor: Option<&str>,
        tx: &mpsc::Sender<WatchItem>,
    ) -> Result<Position, AdminError> {
        while &after < target {
            let rows = self
                .store
                .saved_after(&after, target.xid + 1, sensor, PAGE)
                .await?;
            let more = rows.len() == PAGE;
            for (position, measurement) in rows {
                if &position > target {
                    return Ok(target.clone());
                }
                after = position.clone();
                let saved = Arc::new(Saved {
                    position,
                    measurement,
                });
                if tx.send(Ok(saved)).await.is_err() {
                    return Ok(after);
                }
            }
            if !more {
                return Ok(target.clone());
            }
        }
        Ok(after)
    }
}

/// Resolves once the service stops (the guard `wait_for` returns must not live across awaits).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

fn not_ready() -> AdminError {
    AdminError::Unavailable("the watch has not reached the database yet".into())
}
