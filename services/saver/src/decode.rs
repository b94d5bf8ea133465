//! Taking a batch apart before anything is written: each record becomes a row or a reject, and
//! a reading repeated within the batch is kept once, so the insert never sees the same key twice
//! and only the repeats across batches are left to `ON CONFLICT DO NOTHING`.

use std::collections::HashSet;

use rdkafka::{Message, message::OwnedMessage};
use sensorpipe::{db::NewMeasurement, kafka};

use crate::error::Reject;

/// A batch taken apart: the rows to insert (first copy of each identity) with the index of their
/// record, the records that cannot be rows, and how many repeats were dropped.
pub struct Decoded {
    pub rows: Vec<NewMeasurement>,
    pub origin: Vec<usize>,
    pub rejects: Vec<(usize, Reject)>,
    pub repeated: usize,
}

impl Decoded {
    pub fn from_batch(batch: &[OwnedMessage]) -> Self {
        let mut decoded = Self {
            rows: Vec::with_capacity(batch.len()),
            origin: Vec::with_capacity(batch.len()),
            rejects: Vec::new(),
            repeated: 0,
        };
        let mut seen = HashSet::with_capacity(batch.len());
        for (index, message) in batch.iter().enumerate() {
            let row = kafka::decode_record(message.payload().unwrap_or_default())
                .map_err(Reject::from)
                .and_then(|record| NewMeasurement::try_from(&record).map_err(Reject::from));
            match row {
                Ok(row) => {
                    if seen.insert((row.sensor_id.clone(), row.measured_at)) {
                        decoded.rows.push(row);
                        decoded.origin.push(index);
                    } else {
                        decoded.repeated += 1;
                    }
                }
                Err(reject) => decoded.rejects.push((index, reject)),
            }
        }
        decoded
    }
}
