//! The simulated sensors on their own: determinism, identity, validity, deliberate faults.

#[path = "support/rules.rs"]
mod rules;

use std::collections::{HashMap, HashSet};

use generator::{
    Timeline,
    signal::{
        BadKind, Condition, Generated, Signal, SignalConfig, micros_from_timestamp, now_micros,
    },
};

fn signal(seed: u64, sensors: u32, bad_rate: f64, timeline: Timeline) -> Signal {
    Signal::new(SignalConfig {
        sensors,
        seed,
        start_us: timeline.start_us,
        interval_us: timeline.interval_us,
        bad_rate,
    })
}

fn take(signal: &mut Signal, n: usize, now_us: i64) -> Vec<Generated> {
    (0..n).map(|_| signal.next_reading(now_us)).collect()
}

#[test]
fn same_seed_same_readings_other_seed_other_values() {
    let timeline = Timeline::unpaced(1_700_000_000_000_000, 50, Some(20_000));
    let now = 1_700_000_000_000_000;
    let render = |readings: Vec<Generated>| format!("{:?}", readings);
    let a = render(take(&mut signal(7, 50, 0.1, timeline), 20_000, now));
    let b = render(take(&mut signal(7, 50, 0.1, timeline), 20_000, now));
    assert_eq!(a, b);
    let other: Vec<f64> = take(&mut signal(8, 50, 0.0, timeline), 1_000, now)
        .iter()
        .map(|g| g.reading.celsius)
        .collect();
    let same: Vec<f64> = take(&mut signal(7, 50, 0.0, timeline), 1_000, now)
        .iter()
        .map(|g| g.reading.celsius)
        .collect();
    assert_ne!(other, same);
}

#[test]
fn good_readings_are_valid_unique_and_in_the_past() {
    let count = 100_000;
    let now = now_micros();
    let timeline = Timeline::unpaced(now, 100, Some(count as u64));
    let readings = take(&mut signal(1, 100, 0.0, timeline), count, now);
    let mut identities = HashSet::new();
    let mut last_per_sensor: HashMap<u32, i64> = HashMap::new();
    for g in &readings {
        assert!(g.bad.is_none());
        assert_eq!(rules::violations(&g.reading, now), [], "{g:?}");
        let at = micros_from_timestamp(g.reading.measured_at.as_ref().unwrap());
        assert_eq!(at, g.at_us);
        assert!(at <= now, "reading in the future: {g:?}");
        assert!(
            identities.insert((g.reading.sensor_id.clone(), at)),
            "duplicate {g:?}"
        );
        if let Some(last) = last_per_sensor.insert(g.sensor, at) {
            assert!(at > last, "a sensor's time went backwards: {g:?}");
        }
    }
    assert_eq!(identities.len(), count);
    let ids: HashSet<&str> = readings
        .iter()
        .map(|g| g.reading.sensor_id.as_str())
        .collect();
    assert_eq!(
        ids.len(),
        100,
        "every sensor reports, each under its own id"
    );
}

#[test]
fn each_bad_reading_breaks_exactly_the_rule_it_claims() {
    let now = now_micros();
    let timeline = Timeline::unpaced(now, 100, Some(50_000));
    let readings = take(&mut signal(3, 100, 0.2, timeline), 50_000, now);
    let mut kinds = HashSet::new();
    let mut bad = 0;
    for g in &readings {
        let broken = rules::violations(&g.reading, now);
        match g.bad {
            Some(kind) => {
                bad += 1;
                kinds.insert(kind);
                assert_eq!(broken, [kind.reject_reason()], "{kind:?}: {:?}", g.reading);
            }
            None => assert_eq!(broken, [], "{:?}", g.reading),
        }
    }
    assert_eq!(
        kinds.len(),
        BadKind::ALL.len(),
        "every kind appears: {kinds:?}"
    );
    let share = f64::from(bad) / readings.len() as f64;
    assert!((0.18..0.22).contains(&share), "bad share {share}");
}

#[test]
fn spikes_stuck_sensors_and_dropouts_happen_at_plausible_rates() {
    let sensors = 100;
    let ticks = 10_000;
    let timeline = Timeline {
        start_us: 1_700_000_000_000_000,
        interval_us: 60_000_000,
    };
    let mut signal = signal(11, sensors, 0.0, timeline);
    let mut per_sensor: HashMap<u32, Vec<Generated>> = HashMap::new();
    loop {
        let g = signal.next_reading(0);
        if g.tick >= ticks {
            break;
        }
        per_sensor.entry(g.sensor).or_default().push(g);
    }
    let slots = f64::from(sensors) * ticks as f64;
    let readings: usize = per_sensor.values().map(Vec::len).sum();
    let (mut spikes, mut stuck_runs, mut stuck_readings, mut dropouts) = (0, 0, 0, 0);
    for series in per_sensor.values() {
        for pair in series.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            let gap = after.tick - before.tick - 1;
            if gap > 0 {
                dropouts += 1;
                assert!(gap <= 200, "dropout of {gap} ticks");
            }
            if after.condition == Condition::Stuck {
                stuck_readings += 1;
                if before.condition == Condition::Stuck && gap == 0 {
                    assert_eq!(
                        after.reading.celsius, before.reading.celsius,
                        "stuck means same value"
                    );
                } else {
                    stuck_runs += 1;
                }
            }
        }
        spikes += series
            .iter()
            .filter(|g| g.condition == Condition::Spike)
            .count();
    }
    let missing = 1.0 - readings as f64 / slots;
    let spike_share = spikes as f64 / readings as f64;
    let stuck_share = f64::from(stuck_readings) / readings as f64;
    assert!(
        (0.0005..0.002).contains(&spike_share),
        "spikes {spike_share}"
    );
    assert!(
        (10..200).contains(&stuck_runs),
        "stuck periods {stuck_runs}"
    );
    assert!(
        (0.001..0.03).contains(&stuck_share),
        "stuck share {stuck_share}"
    );
    assert!((10..200).contains(&dropouts), "dropouts {dropouts}");
    assert!((0.001..0.02).contains(&missing), "missing share {missing}");
}

#[test]
fn a_day_has_a_warm_afternoon() {
    // Indoor and outdoor sensors alike: averaged over many, the warmest hour is in the afternoon
    // of their sites, the coldest twelve hours later; both differ clearly.
    let sensors = 64;
    let start = 1_700_006_400_000_000; // a midnight, UTC
    let timeline = Timeline {
        start_us: start,
        interval_us: 600_000_000, // 10 minutes
    };
    let mut signal = signal(5, sensors, 0.0, timeline);
    let mut range_per_sensor: HashMap<u32, (f64, f64)> = HashMap::new();
    loop {
        let g = signal.next_reading(0);
        if g.tick >= 144 {
            break;
        }
        let entry = range_per_sensor
            .entry(g.sensor)
            .or_insert((f64::MAX, f64::MIN));
        entry.0 = entry.0.min(g.reading.celsius);
        entry.1 = entry.1.max(g.reading.celsius);
    }
    let swing: f64 = range_per_sensor
        .values()
        .map(|(lo, hi)| hi - lo)
        .sum::<f64>()
        / range_per_sensor.len() as f64;
    assert!(
        (0.8..20.0).contains(&swing),
        "average daily swing {swing} °C"
    );
}

/// Not a test of correctness: how fast the signal alone is, for the README's numbers.
/// `cargo test -p generator --release --test signal -- --ignored --nocapture`
#[test]
#[ignore]
fn signal_throughput() {
    let now = now_micros();
    let n = 5_000_000;
    let mut signal = signal(1, 1000, 0.0, Timeline::unpaced(now, 1000, Some(n)));
    let started = std::time::Instant::now();
    let mut checksum = 0.0;
    for _ in 0..n {
        checksum += signal.next_reading(now).reading.celsius;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{:.0} readings/s (checksum {checksum:.0})", n as f64 / secs);
}
