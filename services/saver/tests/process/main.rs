//! The saver binary as its own process, against a real Kafka and PostgreSQL: SIGKILL at any
//! moment, a restart as the same saver, PostgreSQL going away (busy or idle), two savers sharing a
//! group, SIGTERM. After each, the table holds exactly one row per reading.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
mod process;

mod crash;
mod database_outage;
mod database_url_file;
mod idle_health;
mod restart;
mod sensor_summary;
mod shutdown;
mod two_savers;
