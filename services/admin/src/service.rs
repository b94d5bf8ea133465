//! The answers, protocol-free: what `ListMeasurements`, `ListSensors` and `WatchMeasurements`
//! return for a checked query. gRPC and HTTP only translate in and out.

use std::sync::Arc;

use futures::Stream;

use crate::{
    cache::{Answer, ListCache},
    error::AdminError,
    query::{MeasurementsQuery, SensorsQuery, WatchQuery},
    store::{SensorRow, Store},
    watch::{Watch, WatchItem},
};

/// One page and the token for the next one (empty on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
}

#[derive(Clone)]
pub struct Admin {
    store: Store,
    list: ListCache,
    watch: Watch,
}

impl Admin {
    pub fn new(store: Store, list: ListCache, watch: Watch) -> Self {
        Self { store, list, watch }
    }

    /// Shared, possibly with other calls: first pages may come from the cache (see `cache` for
    /// how fresh they are).
    pub async fn list_measurements(
        &self,
        query: MeasurementsQuery,
    ) -> Result<Arc<Answer>, AdminError> {
        self.list.list_measurements(query).await
    }

    pub async fn list_sensors(&self, query: SensorsQuery) -> Result<Page<SensorRow>, AdminError> {
        let rows = self.store.list_sensors(&query).await?;
        Ok(page(rows, query.page_size, |last| {
            query.next_token(&last.latest.sensor_id)
        }))
    }

    pub async fn watch(
        &self,
        query: WatchQuery,
    ) -> Result<impl Stream<Item = WatchItem> + use<>, AdminError> {
        self.watch.subscribe(query).await
    }
}

/// The store returns one row more than a page: its presence says a next page exists.
pub fn page<T>(mut rows: Vec<T>, page_size: usize, token: impl Fn(&T) -> String) -> Page<T> {
    let next_page_token = if rows.len() > page_size {
        rows.truncate(page_size);
        rows.last().map(&token).unwrap_or_default()
    } else {
        String::new()
    };
    Page {
        items: rows,
        next_page_token,
    }
}
