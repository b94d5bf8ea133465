//! The saver against a real Kafka and PostgreSQL, in-process: exactly one row per reading, poison
//! to the dead-letter topic, offsets only after the rows. One binary so helpers compile once.

mod exactly_once;
mod helpers;
mod poison;
