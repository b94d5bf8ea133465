//! What every stage agrees a reading may look like: ingest rejects anything else, the saver sends
//! anything else to the dead-letter topic, and the table's CHECK constraints refuse it.

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
