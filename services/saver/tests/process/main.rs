//! The saver binary as its own process, against a real Kafka and PostgreSQL: SIGKILL at any
//! moment, PostgreSQL going away, two savers sharing a group, SIGTERM. After each, the table holds
//! exactly one row per reading.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
mod process;

mod crash;
mod database_outage;
mod sensor_summary;
mod shutdown;
mod two_savers;
