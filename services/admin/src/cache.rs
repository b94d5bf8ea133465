//! Answers of `ListMeasurements` first pages (no page token), kept in memory while the database
//! cannot have changed them, for gRPC, gRPC-Web and HTTP JSON alike. A dashboard or a script that
//! asks for the newest rows again and again then costs the database one query per change, not one
//! per call, and HTTP callers get the JSON already written.
//!
//! # Freshness rule
//!
//! An answer served from memory contains every row whose transaction committed at least
//! `max_age` before the call arrived (default 10 ms, never more than the watch's poll interval):
//! a row is never later in a list than on its normal path to visibility, the watch poll that
//! shows it to a dashboard. How: PostgreSQL's snapshot (`txid_current_snapshot()`,
//! `xmin:xmax:in-progress ids`) changes whenever any transaction commits or aborts, in any
//! database of the server; two equal snapshots mean nothing ended in between. A call checks the
//! snapshot if the last check was sent more than `max_age` ago (one check at a time, whatever the
//! load): a changed snapshot starts a new generation and drops every answer. An answer is filed
//! under the generation current when its query began, so it holds everything committed before
//! that generation's first check, and while the generation lasts nothing has committed since.
//!
//! The watch's save-order horizon is not used on purpose: a long-running transaction anywhere
//! holds it back while plain queries already see newer commits, so an answer tied to it could be
//! arbitrarily old.
//!
//! Memory: at most [`MAX_ROWS`] rows in all answers (~270 bytes each with their JSON), the oldest
//! answer dropped first.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use sensorpipe::db::Measurement;

use crate::{
    error::AdminError,
    json,
    metrics::{self, CacheOutcome},
    query::MeasurementsQuery,
    service::{Page, page},
    store::Store,
};

/// Rows held in all cached answers together: a few megabytes, a few dozen pages of 100 rows.
pub const MAX_ROWS: usize = 20_000;

/// One answer of `ListMeasurements`, shared by every call that gets it.
#[derive(Debug)]
pub struct Answer {
    pub page: Page<Measurement>,
    json: OnceLock<Bytes>,
}

impl Answer {
    fn new(page: Page<Measurement>) -> Self {
        Self {
            page,
            json: OnceLock::new(),
        }
    }

    /// The HTTP JSON body, written on first use (gRPC callers never pay for it).
    pub fn json(&self) -> Bytes {
        self.json
            .get_or_init(|| json::measurements_page(&self.page))
            .clone()
    }
}

/// The store's `ListMeasurements` behind the cache; cheap to clone.
#[derive(Clone)]
pub struct ListCache {
    store: Store,
    /// Zero: every call goes to the database.
    max_age: Duration,
    state: Arc<Mutex<State>>,
    /// Held while a snapshot check runs, so a burst of calls sends one check.
    checking: Arc<tokio::sync::Mutex<()>>,
}

impl ListCache {
    pub fn new(store: Store, max_age: Duration) -> Self {
        Self {
            store,
            max_age,
            state: Arc::new(Mutex::new(State::new(MAX_ROWS))),
            checking: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub async fn list_measurements(
        &self,
        query: MeasurementsQuery,
    ) -> Result<Arc<Answer>, AdminError> {
        if self.max_age.is_zero() || query.after.is_some() {
            return Ok(Arc::new(Answer::new(self.fetch(&query).await?)));
        }
        // A failed check leaves the answer to the database, which fails as it always did.
        let Ok(generation) = self.generation().await else {
            return Ok(Arc::new(Answer::new(self.fetch(&query).await?)));
        };
        if let Some(answer) = self.lock().get(generation, &query) {
            metrics::cache(CacheOutcome::Hit);
            return Ok(answer);
        }
        metrics::cache(CacheOutcome::Miss);
        let answer = Arc::new(Answer::new(self.fetch(&query).await?));
        self.lock().insert(generation, query, answer.clone());
        Ok(answer)
    }

    async fn fetch(&self, query: &MeasurementsQuery) -> Result<Page<Measurement>, AdminError> {
        let rows = self.store.list_measurements(query).await?;
        Ok(page(rows, query.page_size, |last| query.next_token(last)))
    }

    /// The current generation, checked against the database unless that was done within
    /// `max_age`.
    async fn generation(&self) -> Result<u64, AdminError> {
        if let Some(generation) = self.lock().fresh(self.max_age) {
            return Ok(generation);
        }
        let _checking = self.checking.lock().await;
        if let Some(generation) = self.lock().fresh(self.max_age) {
            return Ok(generation);
        }
        // Sent before the snapshot is taken, so the age of a check is never understated.
        let sent = Instant::now();
        let snapshot = self.store.snapshot().await?;
        metrics::cache(CacheOutcome::Check);
        Ok(self.lock().checked(snapshot, sent))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("list cache lock")
    }
}

/// The generation and its answers, kept consistent by one lock.
struct State {
    /// The snapshot of the last check and when that check was sent.
    snapshot: Option<(String, Instant)>,
    generation: u64,
    /// Every answer here belongs to `generation`.
    answers: HashMap<MeasurementsQuery, Arc<Answer>>,
    /// Insertion order, oldest first, for dropping answers when `rows` would exceed `max_rows`.
    order: VecDeque<MeasurementsQuery>,
    rows: usize,
    max_rows: usize,
}

impl State {
    fn new(max_rows: usize) -> Self {
        Self {
            snapshot: None,
            generation: 0,
            answers: HashMap::new(),
            order: VecDeque::new(),
            rows: 0,
            max_rows,
        }
    }

    /// The generation, if its last check is at most `max_age` old.
    fn fresh(&self, max_age: Duration) -> Option<u64> {
        let (_, sent) = self.snapshot.as_ref()?;
        (sent.elapsed() <= max_age).then_some(self.generation)
    }

    /// Records a check; a snapshot unlike the last one starts a new generation.
    fn checked(&mut self, snapshot: String, sent: Instant) -> u64 {
        let same = self
            .snapshot
            .as_ref()
            .is_some_and(|(last, _)| *last == snapshot);
        if !same {
            self.generation += 1;
            self.answers.clear();
            self.order.clear();
            self.rows = 0;
        }
        // A later check may have finished first (they are serialised, but be safe): keep the
        // newest time.
        let sent = match &self.snapshot {
            Some((_, last)) if same => sent.max(*last),
            _ => sent,
        };
        self.snapshot = Some((snapshot, sent));
        self.generation
    }

    fn get(&self, generation: u64, query: &MeasurementsQuery) -> Option<Arc<Answer>> {
        if generation != self.generation {
            return None;
        }
        self.answers.get(query).cloned()
    }

    /// Files an answer computed in `generation`; one of an older generation is dropped, it may
    /// miss rows committed since.
    fn insert(&mut self, generation: u64, query: MeasurementsQuery, answer: Arc<Answer>) {
        let rows = answer.page.items.len().max(1);
        if generation != self.generation
            || rows > self.max_rows
            || self.answers.contains_key(&query)
        {
            return;
        }
        while self.rows + rows > self.max_rows {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(dropped) = self.answers.remove(&oldest) {
                self.rows -= dropped.page.items.len().max(1);
            }
        }
        self.rows += rows;
        self.order.push_back(query.clone());
        self.answers.insert(query, answer);
    }
}

#[cfg(test)]
mod tests {
    use crate::token::Filter;

    use super::*;

    fn query(page_size: usize) -> MeasurementsQuery {
        MeasurementsQuery {
            page_size,
            filter: Filter::default(),
            after: None,
        }
    }

    fn answer(rows: usize) -> Arc<Answer> {
        let row = Measurement {
            sensor_id: "a".into(),
            measured_at: chrono::DateTime::UNIX_EPOCH,
            celsius: 1.0,
            ingested_at: chrono::DateTime::UNIX_EPOCH,
            saved_at: chrono::DateTime::UNIX_EPOCH,
        };
        Arc::new(Answer::new(Page {
            items: vec![row; rows],
            next_page_token: String::new(),
        }))
    }

    #[test]
    fn a_changed_snapshot_drops_every_answer() {
        let mut state = State::new(100);
        let now = Instant::now();
        let first = state.checked("1:5:".into(), now);
        state.insert(first, query(10), answer(10));
        assert!(state.get(first, &query(10)).is_some());
        assert_eq!(state.checked("1:5:".into(), now), first, "same snapshot");
        assert!(state.get(first, &query(10)).is_some());
        let second = state.checked("1:6:".into(), now);
        assert_ne!(second, first);
        assert!(state.get(second, &query(10)).is_none());
        assert!(state.get(first, &query(10)).is_none());
        // An answer whose query began in the old generation is not filed.
        state.insert(first, query(10), answer(10));
        assert!(state.get(second, &query(10)).is_none());
    }

    #[test]
    fn a_check_older_than_max_age_is_not_fresh() {
        let mut state = State::new(100);
        assert_eq!(state.fresh(Duration::from_secs(1)), None, "never checked");
        let generation = state.checked("1:5:".into(), Instant::now());
        assert_eq!(state.fresh(Duration::from_secs(60)), Some(generation));
        let long_ago = Instant::now() - Duration::from_secs(2);
        state.checked("1:5:".into(), long_ago);
        assert_eq!(state.fresh(Duration::from_secs(60)), Some(generation));
        let mut old = State::new(100);
        old.checked("1:5:".into(), long_ago);
        assert_eq!(old.fresh(Duration::from_secs(1)), None);
    }

    #[test]
    fn rows_held_stay_within_the_bound_oldest_dropped_first() {
        let mut state = State::new(100);
        let generation = state.checked("1:5:".into(), Instant::now());
        for size in 1..=6 {
            state.insert(generation, query(size * 10), answer(size * 10));
            assert!(state.rows <= 100, "{} rows held", state.rows);
        }
        // 50 + 60 > 100: only the newest is left, the older ones went first.
        assert!(state.get(generation, &query(60)).is_some());
        assert!(state.get(generation, &query(40)).is_none());
        assert!(state.get(generation, &query(50)).is_none());
        assert!(state.get(generation, &query(10)).is_none());
        // A page larger than the whole bound is never held.
        state.insert(generation, query(1000), answer(101));
        assert!(state.get(generation, &query(1000)).is_none());
        assert!(state.rows <= 100);
    }
}
