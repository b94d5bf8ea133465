//! Every query the admin service runs, each served by an index (see `explain`):
//! - newest first, all sensors: `measurements_newest (measured_at DESC, sensor_id DESC)`;
//! - newest first, one sensor: the primary key `(sensor_id, measured_at)`, scanned backwards;
//! - sensors: `sensor_summaries`' primary key (one row per sensor, kept by whoever inserts rows,
//!   in the same transaction: the saver, or `sensor_summaries_refresh`);
//! - the watch: `measurements_save_order`, a BRIN index on `save_xid`.
//!
//! Keyset conditions are written as `measured_at <= t AND (measured_at < t OR sensor_id < s)`:
//! the first half is an index bound, the second only filters the rows that tie on `t`, so a deep
//! page costs what the first page costs.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::AsSelect,
    pg::Pg,
    prelude::*,
    query_builder::{BoxedSqlQuery, SqlQuery},
    sql_query,
    sql_types::{BigInt, Float8, Integer, Nullable, Timestamptz, Varchar},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sensorpipe::db::{Measurement, Pool, create_pool, schema::measurements};

mod explain;
pub use explain::explain;

use crate::{
    error::AdminError,
    query::{MeasurementsQuery, SensorsQuery},
    token::Position,
};

/// Plan each query shape once. By default PostgreSQL re-plans a prepared statement on every call
/// when its `LIMIT` is a parameter (the generic plan's estimate assumes a large limit): 0.16-0.19 ms
/// of planning in every bind, in PostgreSQL's log. The generic plans use the same indexes
/// (`every_query_is_served_by_an_index` checks them). Measured: HTTP JSON 5,250 -> 6,070
/// requests/s, p99 of the newest 100 over gRPC 2.7 -> 0.85 ms.
///
/// And price a random page read close to a sequential one (`random_page_cost` 1.1, the usual
/// setting when the data is in memory or on SSD, as the admin's working set is): with the default
/// 4, a page of 100 of a few hundred `sensor_summaries` rows is planned as a scan of the whole
/// table and a sort rather than a walk of its primary key.
const SESSION_SETTINGS: &str =
    "SET plan_cache_mode = force_generic_plan; SET random_page_cost = 1.1";

/// The database side of the admin service: a connection pool and the queries.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

/// A sensor with its newest row and its row count.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct SensorRow {
    #[diesel(embed)]
    pub latest: LatestRow,
    #[diesel(sql_type = BigInt)]
    pub measurement_count: i64,
}

/// The newest row of a sensor, as `ListSensors` reads it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct LatestRow {
    #[diesel(sql_type = Varchar)]
    pub sensor_id: String,
    #[diesel(sql_type = Timestamptz)]
    pub measured_at: DateTime<Utc>,
    #[diesel(sql_type = Float8)]
    pub celsius: f64,
    #[diesel(sql_type = Timestamptz)]
    pub ingested_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub saved_at: DateTime<Utc>,
}

impl From<LatestRow> for Measurement {
    fn from(row: LatestRow) -> Self {
        Self {
            sensor_id: row.sensor_id,
            measured_at: row.measured_at,
            celsius: row.celsius,
            ingested_at: row.ingested_at,
            saved_at: row.saved_at,
        }
    }
}

#[derive(QueryableByName)]
struct SavedRow {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(embed)]
    row: LatestRow,
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = diesel::sql_types::Text)]
    snapshot: String,
}

#[derive(QueryableByName)]
struct Horizon {
    #[diesel(sql_type = BigInt)]
    xid: i64,
}

/// Sensors in `sensor_id` order after `$1` (NULL: from the first), at most `$2`, from the
/// summaries the writers keep (migration `sensor_summaries_by_writers`): a page costs the same
/// at any table size. `coalesce($1, '')` rather than `$1 IS NULL OR ...`: the generic plan keeps
/// the condition as an index bound ('' sorts before every sensor id), so a late page does not
/// scan the earlier ones.
const LIST_SENSORS: &str = "\
SELECT sensor_id, measured_at, celsius, ingested_at, saved_at, measurement_count
  FROM sensor_summaries
 WHERE sensor_id > coalesce($1::varchar, '')
 ORDER BY sensor_id
 LIMIT $2";

/// Every transaction below this id has ended: rows saved by them are final.
const HORIZON: &str = "SELECT txid_snapshot_xmin(txid_current_snapshot()) AS xid";

/// The server's transaction snapshot as text (`xmin:xmax:in-progress ids`): it changes whenever
/// any transaction ends, so two equal snapshots mean no row was committed in between.
const SNAPSHOT: &str = "SELECT txid_current_snapshot()::text AS snapshot";

/// Rows after position ($1 xid, $2 sensor, $3 time) saved by transactions below $4, optionally
/// of sensor $5, in save order, at most $6. `COLLATE "C"`: bytewise, as [`Position`] compares.
const SAVED_AFTER: &str = "\
SELECT save_xid AS xid, sensor_id, measured_at, celsius, ingested_at, saved_at
  FROM measurements
 WHERE save_xid >= $1 AND save_xid < $4
   AND (save_xid > $1 OR (sensor_id COLLATE \"C\", measured_at) > ($2, $3))
   AND ($5::varchar IS NULL OR sensor_id = $5)
 ORDER BY save_xid, sensor_id COLLATE \"C\", measured_at
 LIMIT $6";

impl Store {
    /// Connections are opened on first use, so the service starts while PostgreSQL is down and
    /// answers UNAVAILABLE until it is back.
    pub fn new(database_url: &str, pool_size: usize) -> Result<Self, sensorpipe::db::PoolError> {
        Ok(Self {
            pool: create_pool(database_url, pool_size, SESSION_SETTINGS)?,
        })
    }

    async fn connection(
        &self,
    ) -> Result<impl std::ops::DerefMut<Target = AsyncPgConnection> + use<>, AdminError> {
        self.pool.get().await.map_err(|error| {
            tracing::warn!(%error, "no database connection");
            AdminError::Unavailable(error.to_string())
        })
    }

    /// Up to `page_size + 1` rows, newest first: the extra row only says another page exists.
    pub async fn list_measurements(
        &self,
        query: &MeasurementsQuery,
    ) -> Result<Vec<Measurement>, AdminError> {
        let mut conn = self.connection().await?;
        measurements_query(query)
            .load(&mut conn)
            .await
            .map_err(query_failed)
    }

    /// Up to `page_size + 1` sensors in id order.
    pub async fn list_sensors(&self, query: &SensorsQuery) -> Result<Vec<SensorRow>, AdminError> {
        let mut conn = self.connection().await?;
        sensors_query(query)
            .load(&mut conn)
            .await
            .map_err(query_failed)
    }

    /// The save-order horizon: every row saved by a transaction below it is final.
    pub async fn horizon(&self) -> Result<u64, AdminError> {
        let horizon: Horizon = self.one_row(HORIZON).await?;
        Ok(horizon.xid as u64)
    }

    /// The current transaction snapshot (see [`SNAPSHOT`]), for the list cache.
    pub async fn snapshot(&self) -> Result<String, AdminError> {
        let snapshot: Snapshot = self.one_row(SNAPSHOT).await?;
        Ok(snapshot.snapshot)
    }

    /// The one row of a query without parameters.
    async fn one_row<T>(&self, sql: &'static str) -> Result<T, AdminError>
    where
        T: QueryableByName<Pg> + Send + 'static,
    {
        let mut conn = self.connection().await?;
        sql_query(sql)
            .get_result(&mut conn)
            .await
            .map_err(query_failed)
    }

    /// Up to `limit` final rows after `after` and below the horizon `below`, in save order.
    pub async fn saved_after(
        &self,
        after: &Position,
        below: u64,
        sensor_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Position, Measurement)>, AdminError> {
        let mut conn = self.connection().await?;
        let rows: Vec<SavedRow> = saved_after_query(after, below, sensor_id, limit)
            .load(&mut conn)
            .await
            .map_err(query_failed)?;
        Ok(rows
            .into_iter()
            .map(|saved| {
                let position = Position {
                    xid: saved.xid as u64,
                    sensor_id: saved.row.sensor_id.clone(),
                    measured_at: saved.row.measured_at,
                };
                (position, saved.row.into())
            })
            .collect())
    }
}

type BoxedMeasurements = measurements::BoxedQuery<'static, Pg, AsSelect<Measurement, Pg>>;

fn measurements_query(query: &MeasurementsQuery) -> BoxedMeasurements {
    use measurements::dsl as m;
    let mut select = m::measurements
        .select(Measurement::as_select())
        .order((m::measured_at.desc(), m::sensor_id.desc()))
        .limit(query.page_size as i64 + 1)
        .into_boxed();
    if let Some(sensor_id) = &query.filter.sensor_id {
        select = select.filter(m::sensor_id.eq(sensor_id.clone()));
    }
    if let Some(start) = query.filter.start {
        select = select.filter(m::measured_at.ge(start));
    }
    if let Some(end) = query.filter.end {
        select = select.filter(m::measured_at.lt(end));
    }
    if let Some((at, sensor_id)) = &query.after {
        select = select.filter(m::measured_at.le(*at)).filter(
            m::measured_at
                .lt(*at)
                .or(m::sensor_id.lt(sensor_id.clone())),
        );
    }
    select
}

fn sensors_query(query: &SensorsQuery) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    sql_query(LIST_SENSORS)
        .into_boxed()
        .bind::<Nullable<Varchar>, _>(query.after.clone())
        .bind::<Integer, _>(query.page_size as i32 + 1)
}

fn saved_after_query(
    after: &Position,
    below: u64,
    sensor_id: Option<&str>,
    limit: usize,
) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    sql_query(SAVED_AFTER)
        .into_boxed()
        .bind::<BigInt, _>(after.xid as i64)
        .bind::<Varchar, _>(after.sensor_id.clone())
        .bind::<Timestamptz, _>(after.measured_at)
        .bind::<BigInt, _>(below.min(i64::MAX as u64) as i64)
        .bind::<Nullable<Varchar>, _>(sensor_id.map(str::to_owned))
        .bind::<BigInt, _>(limit as i64)
}

fn query_failed(error: diesel::result::Error) -> AdminError {
    tracing::warn!(%error, "query failed");
    AdminError::Unavailable(error.to_string())
}
