//! The plans of every query shape, for `scripts/bench admin` and the test that checks each query
//! is served by an index: `EXPLAIN (ANALYZE, BUFFERS)` of exactly what the service runs.

use chrono::{DateTime, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::Text,
};
use diesel_async::RunQueryDsl;

use super::{Store, measurements_query, query_failed, saved_after_query, sensors_query};
use crate::{
    error::AdminError,
    query::{MeasurementsQuery, SensorsQuery},
    token::{Filter, Position},
};

impl Store {
    /// `EXPLAIN (ANALYZE, BUFFERS)` of every query shape, with arguments taken from the table
    /// (its newest row, a sensor, the second page): which index serves each, and what it costs.
    pub async fn explain(&self) -> Result<Vec<(&'static str, String)>, AdminError> {
        let newest = self
            .list_measurements(&MeasurementsQuery {
                page_size: 100,
                filter: Filter::default(),
                after: None,
            })
            .await?;
        let (Some(first), Some(last)) = (<[_]>::first(&newest), <[_]>::last(&newest)) else {
            return Ok(Vec::new());
        };
        let newest_100 = |filter: Filter, after: Option<(DateTime<Utc>, String)>| {
            measurements_query(&MeasurementsQuery {
                page_size: 100,
                filter,
                after,
            })
        };
        let one_sensor = Filter {
            sensor_id: Some(first.sensor_id.clone()),
            ..Filter::default()
        };
        let range = Filter {
            start: Some(last.measured_at - chrono::Duration::hours(1)),
            end: Some(last.measured_at),
            ..Filter::default()
        };
        let page_2 = Some((last.measured_at, last.sensor_id.clone()));
        let sensors = SensorsQuery {
            page_size: 100,
            after: None,
        };
        // A typical poll: the rows of the last couple of transactions.
        let recent = Position::start_of(self.horizon().await?.saturating_sub(2));
        let queries: [(&'static str, Explain); 6] = [
            (
                "newest 100, all sensors",
                Explain::of(newest_100(Filter::default(), None)),
            ),
            (
                "newest 100, one sensor",
                Explain::of(newest_100(one_sensor, None)),
            ),
            (
                "newest 100, page 2",
                Explain::of(newest_100(Filter::default(), page_2)),
            ),
            (
                "newest 100, last hour of the data",
                Explain::of(newest_100(range, None)),
            ),
            ("100 sensors", Explain::of(sensors_query(&sensors))),
            (
                "watch poll",
                Explain::of(saved_after_query(&recent, u64::MAX >> 1, None, 1000)),
            ),
        ];
        let mut conn = self.connection().await?;
        let mut plans = Vec::new();
        for (name, explain) in queries {
            let lines: Vec<String> = explain.load(&mut conn).await.map_err(query_failed)?;
            plans.push((name, lines.join("\n")));
        }
        Ok(plans)
    }
}

/// `EXPLAIN (ANALYZE, BUFFERS)` in front of a query, with the query's own binds: the plan of
/// exactly what the service runs.
struct Explain(Box<dyn QueryFragment<Pg> + Send>);

impl Explain {
    fn of(query: impl QueryFragment<Pg> + Send + 'static) -> Self {
        Self(Box::new(query))
    }
}

impl QueryFragment<Pg> for Explain {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN (ANALYZE, BUFFERS) ");
        self.0.walk_ast(out.reborrow())
    }
}

impl QueryId for Explain {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Explain {
    type SqlType = Text;
}

/// The plans of every query on the database at `database_url` (for `scripts/bench admin`).
pub async fn explain(database_url: &str) -> Result<Vec<(&'static str, String)>, AdminError> {
    let store = Store::new(database_url, 1).map_err(|e| AdminError::Unavailable(e.to_string()))?;
    store.explain().await
}
