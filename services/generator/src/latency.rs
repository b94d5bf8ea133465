//! Ack latency percentiles in fixed memory, however long the run: a log-linear histogram of
//! microseconds (16 buckets per power of two, so a percentile is within about 6 %).

use std::time::Duration;

const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Exact buckets below `SUB`, then `SUB` per power of two up to 2^64.
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * SUB) as usize;

#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            max_us: 0,
        }
    }
}

impl Histogram {
    pub(crate) fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.counts[index(us)] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The `q` quantile (`0.0..=1.0`), zero when nothing was recorded.
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_micros(midpoint(i).min(self.max_us));
            }
        }
        Duration::from_micros(self.max_us)
    }
}

fn index(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exponent = 63 - us.leading_zeros(); // >= SUB_BITS
    let shift = exponent - SUB_BITS;
    let sub = (us >> shift) - SUB; // 0..SUB
    (SUB + u64::from(shift) * SUB + sub) as usize
}

/// The middle of bucket `i`'s range.
fn midpoint(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = (i - SUB) / SUB;
    let sub = (i - SUB) % SUB;
    let low = (SUB + sub) << shift;
    low + ((1u64 << shift) >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for us in (0..100_000).chain([u64::MAX / 2, u64::MAX]) {
            let i = index(us);
            assert!(i >= last && i < BUCKETS, "{us}");
            last = i;
        }
    }

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.quantile(0.5).as_secs_f64() * 1e3;
        let p99 = h.quantile(0.99).as_secs_f64() * 1e3;
        assert!((p50 - 50.0).abs() / 50.0 < 0.07, "{p50}");
        assert!((p99 - 99.0).abs() / 99.0 < 0.07, "{p99}");
        assert_eq!(Histogram::default().quantile(0.5), Duration::ZERO);
    }
}
