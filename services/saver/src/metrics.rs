//! Every metric of the saver, in one place. consumed = inserted + duplicates + dead-lettered, once
//! a batch is committed; lag says how much is still waiting in Kafka.

use prometheus::{
    Histogram, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, exponential_buckets,
    register_histogram, register_int_counter, register_int_counter_vec, register_int_gauge,
    register_int_gauge_vec,
};
use sensorpipe::metric;

metric!(RECORDS_CONSUMED: IntCounter = register_int_counter!(
    "saver_records_consumed_total", "Records read from Kafka and handled (stored, skipped or dead-lettered)"));
metric!(ROWS_INSERTED: IntCounter = register_int_counter!(
    "saver_rows_inserted_total", "Rows inserted into measurements"));
metric!(DUPLICATES_SKIPPED: IntCounter = register_int_counter!(
    "saver_duplicates_skipped_total",
    "Records whose (sensor_id, measured_at) was already stored or repeated in the batch"));
metric!(COPY_FALLBACKS: IntCounter = register_int_counter!(
    "saver_copy_fallbacks_total",
    "Batch parts written by INSERT ... ON CONFLICT DO NOTHING because COPY met a stored row"));
metric!(DEAD_LETTERED: IntCounterVec = register_int_counter_vec!(
    "saver_dead_lettered_total", "Records sent to the dead-letter topic, by kind", &["kind"]));
metric!(BATCHES_COMMITTED: IntCounter = register_int_counter!(
    "saver_batches_committed_total", "Batches stored and their offsets committed"));
metric!(COMMIT_FAILURES: IntCounter = register_int_counter!(
    "saver_commit_failures_total",
    "Offset commits Kafka refused (the rows are stored; the records come again and are skipped)"));
metric!(DATABASE_RETRIES: IntCounter = register_int_counter!(
    "saver_database_retries_total", "Batch writes retried because PostgreSQL failed"));
metric!(DATABASE_UP: IntGauge = register_int_gauge!(
    "saver_database_up",
    "1 while PostgreSQL answers (the last write succeeded, or the idle probe), 0 while it does not"));
metric!(BATCH_SIZE: Histogram = register_histogram!(
    "saver_batch_records", "Records per batch",
    exponential_buckets(1.0, 4.0, 9).expect("valid buckets")));
metric!(BATCH_SECONDS: Histogram = register_histogram!(
    "saver_batch_seconds", "Time to store and commit one batch",
    exponential_buckets(0.0005, 2.0, 16).expect("valid buckets")));
metric!(READING_AGE: Histogram = register_histogram!(
    "saver_reading_age_seconds", "From ingest's acceptance to the row's insert",
    exponential_buckets(0.001, 2.0, 20).expect("valid buckets")));
metric!(ASSIGNED_PARTITIONS: IntGauge = register_int_gauge!(
    "saver_assigned_partitions", "Partitions this saver owns in its consumer group"));
metric!(CONSUMER_LAG: IntGaugeVec = register_int_gauge_vec!(
    "saver_consumer_lag", "Records in Kafka not yet consumed, per partition", &["partition"]));
