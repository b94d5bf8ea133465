//! The invariants of a stored reading, and which layer enforces what.
//!
//! Every row holds a sensor id of 1 to 64 of `A-Z a-z 0-9 . _ : -` and a finite temperature.
//! Three layers check that, each for its own reason, none trusting the one before it:
//! - **ingest** (`services/ingest/src/validate.rs`) rejects the reading alone, naming its field,
//!   so the sender can fix it; on top it applies policy only ingest holds: the configured
//!   temperature bounds and clock skew, and a required `measured_at`;
//! - **the saver** (`db::models`, `NewMeasurement::try_from`) dead-letters a record that breaks
//!   them, since any producer can write the topic;
//! - **the table** (the CHECK constraints in `migrations/`) refuses such a row from any writer.
//!
//! The sensor-id rule is written once here for both Rust layers and once in SQL. A test
//! (`services/e2e/tests/reading_layers.rs`) feeds one table of cases to all three layers, so the
//! Rust rule, the SQL rule and ingest's policy cannot drift apart unnoticed.

/// Longest sensor id, in characters (all ASCII).
pub const MAX_SENSOR_ID_LEN: usize = 64;

/// 1 to 64 of `A-Z a-z 0-9 . _ : -`: safe as a Kafka key, a URL path part and a log field.
pub fn is_valid_sensor_id(id: &str) -> bool {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    !id.is_empty() && id.len() <= MAX_SENSOR_ID_LEN && id.chars().all(valid_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensor_ids() {
        assert!(is_valid_sensor_id("site-1:room_2.t-3"));
        assert!(is_valid_sensor_id(&"x".repeat(64)));
        for bad in ["", "bad id", "sensör", "a/b", &"x".repeat(65)] {
            assert!(!is_valid_sensor_id(bad), "{bad:?}");
        }
    }
}
