//! The tables as diesel sees them; must match `migrations/` (a test inserts and reads every column).

diesel::table! {
    /// One row per reading; `(sensor_id, measured_at)` is the idempotency key from sensor to table.
    measurements (sensor_id, measured_at) {
        sensor_id -> Varchar,
        measured_at -> Timestamptz,
        celsius -> Float8,
        ingested_at -> Timestamptz,
        saved_at -> Timestamptz,
    }
}
