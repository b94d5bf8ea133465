//! One simulated sensor: where it hangs, how its temperature moves, and how it misbehaves.

use super::{Condition, MAX_CELSIUS, MIN_CELSIUS, rng::Rng};

/// Chance per reading that a healthy sensor drops out (sends nothing) for a while.
pub(crate) const DROPOUT_CHANCE: f64 = 0.000_05;
/// How many of its ticks a dropout lasts.
pub(crate) const DROPOUT_TICKS: (u64, u64) = (10, 200);
/// Chance per reading that a healthy sensor gets stuck, repeating one value for a while.
pub(crate) const STUCK_CHANCE: f64 = 0.000_05;
/// How many of its ticks a stuck period lasts.
pub(crate) const STUCK_TICKS: (u64, u64) = (30, 300);
/// Chance per reading of a spike: a single reading far off the curve (a draught, a hand, a glitch).
pub(crate) const SPIKE_CHANCE: f64 = 0.001;

/// Sensors per site; two per room, so the ids read like a real installation.
const SENSORS_PER_SITE: u32 = 64;
const SALT_ROOM: u64 = 1;
const SALT_SITE: u64 = 2;
const SALT_SENSOR: u64 = 3;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What kind of place a room is; it sets the temperature range.
#[derive(Debug, Clone, Copy)]
enum Place {
    Room,
    Outdoor,
    Freezer,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Room => "room",
            Place::Outdoor => "outdoor",
            Place::Freezer => "freezer",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    Stuck { value: f64, ticks_left: u64 },
    Dropout { ticks_left: u64 },
}

/// One tick of a sensor.
pub(crate) enum Sample {
    Value {
        celsius: f64,
        condition: Condition,
    },
    /// Dropped out: this tick has no reading.
    Missing,
}

#[derive(Debug, Clone)]
pub(crate) struct Sensor {
    pub(crate) id: String,
    base: f64,
    amplitude: f64,
    noise: f64,
    /// Hour of the day (UTC) when it is warmest: mid-afternoon local time.
    peak_hour_utc: f64,
    fault: Fault,
    rng: Rng,
}

impl Sensor {
    pub(crate) fn new(index: u32, seed: u64) -> Self {
        let site = index / SENSORS_PER_SITE + 1;
        let in_site = index % SENSORS_PER_SITE;
        let room_number = in_site / 2 + 1;
        let mut room = Rng::derive(seed, SALT_ROOM, u64::from(index / 2));
        let place = match room.unit() {
            p if p < 0.80 => Place::Room,
            p if p < 0.95 => Place::Outdoor,
            _ => Place::Freezer,
        };
        let (base, amplitude, noise) = match place {
            Place::Room => (
                room.range(18.0, 24.0),
                room.range(0.5, 2.0),
                room.range(0.05, 0.2),
            ),
            Place::Outdoor => (
                room.range(-5.0, 25.0),
                room.range(3.0, 8.0),
                room.range(0.1, 0.4),
            ),
            Place::Freezer => (room.range(-25.0, -15.0), room.range(0.2, 1.0), 0.1),
        };
        let utc_offset_hours = Rng::derive(seed, SALT_SITE, u64::from(site)).range(-6.0, 6.0);
        let mut rng = Rng::derive(seed, SALT_SENSOR, u64::from(index));
        Self {
            id: format!(
                "site-{site}:{}-{room_number}.t{}",
                place.name(),
                in_site % 2 + 1
            ),
            // The two sensors of a room agree to within a few tenths of a degree.
            base: base + rng.range(-0.3, 0.3),
            amplitude,
            noise,
            peak_hour_utc: 15.0 - utc_offset_hours,
            fault: Fault::None,
            rng,
        }
    }

    /// The sensor's reading for the tick at `at_us` (microseconds since the Unix epoch).
    pub(crate) fn sample(&mut self, at_us: i64) -> Sample {
        match &mut self.fault {
            Fault::Dropout { ticks_left } => {
                *ticks_left -= 1;
                if *ticks_left == 0 {
                    self.fault = Fault::None;
                }
                return Sample::Missing;
            }
            Fault::Stuck { value, ticks_left } => {
                let celsius = *value;
                *ticks_left -= 1;
                if *ticks_left == 0 {
                    self.fault = Fault::None;
                }
                return Sample::Value {
                    celsius,
                    condition: Condition::Stuck,
                };
            }
            Fault::None => {}
        }
        let draw = self.rng.unit();
        if draw < DROPOUT_CHANCE {
            let ticks = self.rng.between(DROPOUT_TICKS.0, DROPOUT_TICKS.1);
            // This tick is the first one missing.
            if ticks > 1 {
                self.fault = Fault::Dropout {
                    ticks_left: ticks - 1,
                };
            }
            return Sample::Missing;
        }
        let celsius = self.curve(at_us) + self.noise * self.rng.gaussian();
        let (celsius, condition) = if draw < DROPOUT_CHANCE + STUCK_CHANCE {
            let ticks = self.rng.between(STUCK_TICKS.0, STUCK_TICKS.1);
            let value = round(celsius);
            self.fault = Fault::Stuck {
                value,
                ticks_left: ticks - 1,
            };
            (value, Condition::Stuck)
        } else if draw < DROPOUT_CHANCE + STUCK_CHANCE + SPIKE_CHANCE {
            let jump = self.rng.range(5.0, 20.0);
            let sign = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
            (celsius + sign * jump, Condition::Spike)
        } else {
            (celsius, Condition::Normal)
        };
        Sample::Value {
            celsius: round(celsius),
            condition,
        }
    }

    /// Base temperature plus the daily cycle, warmest at `peak_hour_utc`.
    fn curve(&self, at_us: i64) -> f64 {
        let hour = at_us.rem_euclid(MICROS_PER_DAY) as f64 / 3_600_000_000.0;
        let phase = (hour - self.peak_hour_utc) / 24.0 * std::f64::consts::TAU;
        self.base + self.amplitude * phase.cos()
    }
}

/// Two decimals, like real sensors report, and always inside the valid range.
fn round(celsius: f64) -> f64 {
    ((celsius * 100.0).round() / 100.0).clamp(MIN_CELSIUS, MAX_CELSIUS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_site_room_pattern() {
        let ids: Vec<String> = (0..66).map(|i| Sensor::new(i, 9).id).collect();
        assert!(ids[0].starts_with("site-1:") && ids[0].ends_with("-1.t1"));
        assert!(ids[1].ends_with("-1.t2"));
        assert!(ids[63].starts_with("site-1:") && ids[63].ends_with("-32.t2"));
        assert!(ids[64].starts_with("site-2:") && ids[64].ends_with("-1.t1"));
    }

    #[test]
    fn daily_cycle_peaks_in_the_afternoon() {
        let sensor = Sensor::new(0, 3);
        let hour = |h: f64| (h * 3_600_000_000.0) as i64;
        let peak = sensor.curve(hour(sensor.peak_hour_utc));
        let trough = sensor.curve(hour(sensor.peak_hour_utc + 12.0));
        assert!(peak > trough);
        assert!((peak - trough - 2.0 * sensor.amplitude).abs() < 1e-9);
    }
}
