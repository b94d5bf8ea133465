//! A real round trip through the local PostgreSQL: embedded migrations on a fresh database,
//! insert and read back through diesel-async, and the primary key refusing a second copy of a
//! reading.

use chrono::{SubsecRound, Utc};
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper, result::DatabaseErrorKind};
use diesel_async::RunQueryDsl;
use sensorpipe::db::{self, Measurement, schema::measurements};
use testkit::rows::{insert, measurement as row};

#[tokio::test(flavor = "multi_thread")]
async fn measurements_round_trip_and_the_key_rejects_duplicates() {
    let url = testkit::fresh_database("db_roundtrip").await;
    // Migrating again is a no-op.
    assert!(db::run_migrations(&url).await.unwrap().is_empty());
    let mut conn = db::connect(&url).await.unwrap();

    let rows = vec![row("a", 0, -5.5), row("a", 1, 0.0), row("b", 0, 149.75)];
    let before = Utc::now().trunc_subsecs(6);
    let inserted = insert(&mut conn, &rows).await.unwrap();
    assert_eq!(inserted, 3);

    let stored: Vec<Measurement> = measurements::table
        .select(Measurement::as_select())
        .order((measurements::sensor_id, measurements::measured_at))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored.len(), rows.len());
    for (stored, sent) in stored.iter().zip(&rows) {
        assert_eq!(stored.sensor_id, sent.sensor_id);
        assert_eq!(stored.measured_at, sent.measured_at, "microseconds kept");
        assert_eq!(stored.celsius, sent.celsius);
        assert_eq!(stored.ingested_at, sent.ingested_at);
        assert!(stored.saved_at >= before, "saved_at set by the database");
    }

    // Same (sensor_id, measured_at), other values: the primary key refuses it.
    let error = insert(&mut conn, &[row("a", 1, 99.0)]).await.unwrap_err();
    assert!(
        matches!(
            error,
            diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
        ),
        "{error:?}"
    );
    // ... and ON CONFLICT DO NOTHING skips it, keeping the first copy.
    let skipped = diesel::insert_into(measurements::table)
        .values(&row("a", 1, 99.0))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(skipped, 0);
    let celsius: f64 = measurements::table
        .filter(measurements::sensor_id.eq("a"))
        .filter(measurements::measured_at.eq(row("a", 1, 0.0).measured_at))
        .select(measurements::celsius)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(celsius, 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_refuses_what_no_reading_can_be() {
    let url = testkit::fresh_database("db_checks").await;
    let mut conn = db::connect(&url).await.unwrap();
    for bad in [
        row("a", 0, f64::NAN),
        row("a", 0, f64::INFINITY),
        row("bad id!", 0, 1.0),
        row("", 0, 1.0),
    ] {
        let error = insert(&mut conn, std::slice::from_ref(&bad))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                diesel::result::Error::DatabaseError(DatabaseErrorKind::CheckViolation, _)
            ),
            "{bad:?}: {error:?}"
        );
    }
}
