//! A small seeded random number generator.
//!
//! Why not `rand`: a seed must replay the same readings with every future build, and `rand`'s
//! `StdRng` does not promise a stable algorithm across versions. SplitMix64 is a few lines, fast,
//! and good enough for simulated sensors (this is not cryptography).

/// SplitMix64 (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for `key` (a sensor, a site), so one sensor's values do not depend
    /// on how many draws another sensor made. Hashing the key keeps streams from being shifted
    /// copies of each other, which plain `seed + key` would give with SplitMix.
    pub(crate) fn derive(seed: u64, salt: u64, key: u64) -> Self {
        Self::new(mix(seed ^ mix(salt.wrapping_add(mix(key.wrapping_add(1))))))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high)`.
    pub(crate) fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in `low..=high`.
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        let span = high - low + 1;
        low + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Standard normal (Box-Muller); one draw per call keeps the stream simple to replay.
    pub(crate) fn gaussian(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln(0) would be -inf
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// SplitMix64's finalizer: a bijective 64-bit hash.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let draw = |mut r: Rng| (0..5).map(|_| r.next_u64()).collect::<Vec<_>>();
        assert_eq!(draw(Rng::new(7)), draw(Rng::new(7)));
        assert_ne!(draw(Rng::new(7)), draw(Rng::new(8)));
        assert_ne!(draw(Rng::derive(7, 1, 0)), draw(Rng::derive(7, 1, 1)));
    }

    #[test]
    fn ranges_hold() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let b = r.between(3, 5);
            assert!((3..=5).contains(&b));
            assert!(r.gaussian().is_finite());
        }
    }

    #[test]
    fn gaussian_has_unit_spread() {
        let mut r = Rng::new(42);
        let n = 100_000;
        let samples: Vec<f64> = (0..n).map(|_| r.gaussian()).collect();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "variance {var}");
    }
}
