//! How long the saver stores nothing after a crash and after a broker restart, while readings
//! keep arriving.
//!
//! `scripts/bench recovery` builds the release saver and runs this; by hand:
//!
//! ```text
//! cargo bench -p saver --bench recovery -- [--rounds 3] [--rate 1000] [--scenario both]
//! ```
//!
//! A producer sends `--rate` readings per second (each one distinct) into a fresh topic the whole
//! time, and the release saver binary (its own process, on one fixed listen address, so a
//! restart is the same saver again) stores them into a fresh database.
//!
//! 1. `kill`: on the shared stack. `--rounds` times: SIGKILL the saver, start a new one at once.
//! 2. `broker`: on a private broker (testkit's `PrivateKafka`). `--rounds` times: stop the broker
//!    (a clean shutdown), start it again, with the saver running throughout.
//!
//! For each round it prints the gap: the longest time without a stored row, from the last row
//! stored before the disruption to the first one after it (read from the rows' `saved_at`, the
//! database's clock at each insert), and the time from the restart (the saver's, or the broker's
//! being ready again) to that first row. Afterwards every reading sent must be in the table
//! exactly once; the saver's peak RSS is printed too. The saver's own settings come from the
//! environment (`SAVER_SESSION_TIMEOUT=45s`, `SAVER_INSTANCE_ID=none`, ...), so options can be
//! compared without changing this program. Goals are printed, never asserted; it exits non-zero
//! only when a reading went missing or the saver never stored again.

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use diesel::{
    QueryableByName, sql_query,
    sql_types::{BigInt, Timestamptz},
};
use diesel_async::RunQueryDsl;
use prost_types::Timestamp;
use rdkafka::producer::FutureProducer;
use sensorpipe::{kafka, proto::v1::ReadingRecord};
use testkit::{PrivateKafka, ServiceProcess};
use tokio::{sync::watch, task::JoinHandle};

/// The design's goal for this leg (DESIGN.md, performance goals).
const GOAL: Duration = Duration::from_secs(5);
/// How long a saver may take to store again before the round counts as failed.
const GIVE_UP: Duration = Duration::from_secs(240);
/// Steady storing before each disruption, so the gap starts from a saver in its stride.
const STEADY: Duration = Duration::from_secs(3);
/// How often the producer sends its share of `--rate`.
const TICK: Duration = Duration::from_millis(10);
const PARTITIONS: i32 = 6;

#[derive(Debug, Parser)]
#[command(about = "Gap in storing after a saver SIGKILL + restart and after a broker restart")]
struct Args {
    /// Disruptions per scenario.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Readings per second sent the whole time.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Which disruptions to measure.
    #[arg(long, value_enum, default_value_t = Scenario::Both)]
    scenario: Scenario,
    /// The saver binary to measure (another build, to compare with).
    #[arg(long, default_value = env!("CARGO_BIN_EXE_saver"))]
    binary: String,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Kill,
    Broker,
    Both,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(&args))
}

async fn run(args: &Args) -> ExitCode {
    println!(
        "\nsensorpipe saver recovery benchmark, {}, {} cores",
        Utc::now().format("%FT%TZ"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "command: cargo bench -p saver --bench recovery -- --rounds {} --rate {} --scenario {} --binary {}",
        args.rounds,
        args.rate,
        args.scenario
            .to_possible_value()
            .expect("not skipped")
            .get_name(),
        args.binary
    );
    let settings: Vec<String> = std::env::vars()
        .filter(|(name, _)| name.starts_with("SAVER_"))
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    println!(
        "saver settings from the environment: {}",
        if settings.is_empty() {
            "none (defaults)".to_owned()
        } else {
            settings.join(" ")
        }
    );
    let mut ok = true;
    if args.scenario != Scenario::Broker {
        ok &= scenario_kill(args).await;
    }
    if args.scenario != Scenario::Kill {
        ok &= scenario_broker(args).await;
    }
    println!(
        "goal: a restarted saver, or one whose broker came back, stores again within {} s",
        GOAL.as_secs()
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// SIGKILL and restart on the shared stack.
async fn scenario_kill(args: &Args) -> bool {
    let (brokers, topic) = testkit::fresh_topic("bench-recovery", PARTITIONS).await;
    let bench = Bench::new(brokers, topic, args).await;
    let mut saver = bench.start_saver().await;
    bench.wait_for_row_after(Utc::now()).await;
    let mut rounds = Vec::new();
    let mut rss = 0;
    for round in 1..=args.rounds {
        tokio::time::sleep(STEADY).await;
        rss = rss.max(peak_rss_mb(saver.pid()));
        let disrupted = Utc::now();
        saver.kill();
        let restarted = Utc::now();
        saver = bench.start_saver().await;
        let Some(first) = bench.wait_for_row_after(restarted).await else {
            println!("kill round {round}: no row within {} s", GIVE_UP.as_secs());
            return false;
        };
        let measured = bench.measure(disrupted, restarted, first).await;
        eprintln!("kill round {round}: {measured}");
        rounds.push(measured);
    }
    rss = rss.max(peak_rss_mb(saver.pid()));
    let exact = bench.finish().await;
    report("saver SIGKILL + restart", "restart", &rounds, rss);
    drop(saver);
    exact
}

/// A broker restart under a running saver, on a private broker.
async fn scenario_broker(args: &Args) -> bool {
    let broker = PrivateKafka::start().await;
    let brokers = broker.brokers();
    let topic = testkit::unique_name("bench-recovery");
    kafka::create_topic(&brokers, &topic, PARTITIONS)
        .await
        .expect("topic on the private broker");
    let bench = Bench::new(brokers, topic, args).await;
    let saver = bench.start_saver().await;
    bench.wait_for_row_after(Utc::now()).await;
    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        tokio::time::sleep(STEADY).await;
        let disrupted = Utc::now();
        broker.stop().await;
        broker.start_again().await;
        let restarted = Utc::now();
        let Some(first) = bench.wait_for_row_after(restarted).await else {
            println!(
                "broker round {round}: no row within {} s",
                GIVE_UP.as_secs()
            );
            return false;
        };
        let measured = bench.measure(disrupted, restarted, first).await;
        eprintln!("broker round {round}: {measured}");
        rounds.push(measured);
    }
    let rss = peak_rss_mb(saver.pid());
    let exact = bench.finish().await;
    report(
        "broker restart (saver running)",
        "broker ready",
        &rounds,
        rss,
    );
    drop(saver);
    exact
}

/// One round: the longest time without a stored row around the disruption, and from the
/// restart to the first row after it.
#[derive(Debug, Clone, Copy)]
struct Round {
    gap: Duration,
    to_first_row: Duration,
    disruption: Duration,
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gap {:.2} s, restart to first row {:.2} s, disruption itself {:.2} s",
            self.gap.as_secs_f64(),
            self.to_first_row.as_secs_f64(),
            self.disruption.as_secs_f64()
        )
    }
}

fn report(scenario: &str, restart: &str, rounds: &[Round], rss: u64) {
    println!("\n{scenario}, {} rounds", rounds.len());
    println!(
        "{:<8} {:>10} {:>24} {:>18}",
        "round",
        "gap (s)",
        format!("{restart} -> row (s)"),
        "disruption (s)"
    );
    for (i, round) in rounds.iter().enumerate() {
        println!(
            "{:<8} {:>10.2} {:>24.2} {:>18.2}",
            i + 1,
            round.gap.as_secs_f64(),
            round.to_first_row.as_secs_f64(),
            round.disruption.as_secs_f64()
        );
    }
    let max = |f: fn(&Round) -> Duration| rounds.iter().map(f).max().unwrap_or_default();
    println!(
        "{:<8} {:>10.2} {:>24.2} {:>18.2}",
        "max",
        max(|r| r.gap).as_secs_f64(),
        max(|r| r.to_first_row).as_secs_f64(),
        max(|r| r.disruption).as_secs_f64()
    );
    println!("saver peak RSS: {rss} MB");
}

/// A fresh topic and database, a producer sending into the topic, and the saver's settings.
struct Bench {
    brokers: String,
    topic: String,
    dlq: String,
    group: String,
    database_url: String,
    port: u16,
    binary: String,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    producing: watch::Sender<bool>,
    producer: Option<JoinHandle<()>>,
}

impl Bench {
    async fn new(brokers: String, topic: String, args: &Args) -> Self {
        let dlq = format!("{topic}.dlq");
        kafka::create_topic(&brokers, &dlq, 1)
            .await
            .expect("dead-letter topic");
        let database_url = testkit::fresh_database("bench_recovery").await;
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let (producing, stop) = watch::channel(true);
        let producer = tokio::spawn(produce(
            kafka::create_producer(&brokers).expect("a producer"),
            topic.clone(),
            args.rate,
            Arc::clone(&sent),
            Arc::clone(&failed),
            stop,
        ));
        Self {
            brokers,
            group: testkit::unique_name("bench-recovery"),
            topic,
            dlq,
            database_url,
            port: testkit::free_port(),
            binary: args.binary.clone(),
            sent,
            failed,
            producing,
            producer: Some(producer),
        }
    }

    /// The release saver on this bench's fixed port: a restart is the same saver again.
    async fn start_saver(&self) -> ServiceProcess {
        let args = [
            "--kafka-brokers",
            &self.brokers,
            "--kafka-topic",
            &self.topic,
            "--kafka-dlq-topic",
            &self.dlq,
            "--group-id",
            &self.group,
            "--database-url",
            &self.database_url,
        ];
        ServiceProcess::start(&self.binary, self.port, &args).await
    }

    /// The `saved_at` of the first row stored after `after`, once there is one.
    async fn wait_for_row_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let deadline = tokio::time::Instant::now() + GIVE_UP;
        while tokio::time::Instant::now() < deadline {
            let first = self
                .query::<At>(
                    "SELECT min(saved_at) AS at FROM measurements WHERE saved_at > $1",
                    after,
                )
                .await;
            if let Some(at) = first.at {
                return Some(at);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// The round's numbers: the longest stretch between consecutive inserts from shortly before
    /// the disruption to `first`, the first row after the restart.
    async fn measure(
        &self,
        disrupted: DateTime<Utc>,
        restarted: DateTime<Utc>,
        first: DateTime<Utc>,
    ) -> Round {
        let mut connection = sensorpipe::db::connect(&self.database_url)
            .await
            .expect("bench database");
        let inserts: Vec<At> = sql_query(
            "SELECT DISTINCT saved_at AS at FROM measurements \
             WHERE saved_at BETWEEN $1 AND $2 ORDER BY saved_at",
        )
        .bind::<Timestamptz, _>(disrupted - chrono::Duration::seconds(2))
        .bind::<Timestamptz, _>(first)
        .load(&mut connection)
        .await
        .expect("insert times");
        let times: Vec<DateTime<Utc>> = inserts.into_iter().filter_map(|i| i.at).collect();
        let gap = times
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .max()
            .unwrap_or_else(|| first - disrupted);
        Round {
            gap: gap.to_std().unwrap_or_default(),
            to_first_row: (first - restarted).to_std().unwrap_or_default(),
            disruption: (restarted - disrupted).to_std().unwrap_or_default(),
        }
    }

    /// Stops the producer, waits for the saver to store everything, and says whether the table
    /// holds every reading sent exactly once.
    async fn finish(mut self) -> bool {
        self.producing.send_replace(false);
        if let Some(producer) = self.producer.take() {
            producer.await.expect("the producer does not panic");
        }
        let sent = AtomicU64::load(&self.sent, Ordering::Relaxed);
        let failed = AtomicU64::load(&self.failed, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + GIVE_UP;
        let mut stored = 0;
        while tokio::time::Instant::now() < deadline {
            stored = self.count().await;
            if stored >= sent {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let exact = stored == sent && failed == 0;
        println!(
            "readings sent {sent} (failed deliveries {failed}), rows stored {stored}: {}",
            if exact {
                "each exactly once"
            } else {
                "NOT EXACT"
            }
        );
        self.drop_database().await;
        exact
    }

    async fn count(&self) -> u64 {
        let mut connection = sensorpipe::db::connect(&self.database_url)
            .await
            .expect("bench database");
        let count: Count = sql_query("SELECT count(*) AS n FROM measurements")
            .get_result(&mut connection)
            .await
            .expect("row count");
        count.n as u64
    }

    async fn query<T: QueryableByName<diesel::pg::Pg> + Send + 'static>(
        &self,
        sql: &'static str,
        at: DateTime<Utc>,
    ) -> T {
        let mut connection = sensorpipe::db::connect(&self.database_url)
            .await
            .expect("bench database");
        sql_query(sql)
            .bind::<Timestamptz, _>(at)
            .get_result(&mut connection)
            .await
            .expect("bench query")
    }

    async fn drop_database(&self) {
        let name = self
            .database_url
            .rsplit('/')
            .next()
            .expect("a database name");
        let mut admin = sensorpipe::db::connect(&testkit::database_url())
            .await
            .expect("the stack's database");
        let _ = sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
}

#[derive(QueryableByName)]
struct At {
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Sends `rate` distinct readings a second until `running` turns false, then waits for every
/// delivery report. A reading is counted as sent once Kafka confirmed it.
async fn produce(
    producer: FutureProducer,
    topic: String,
    rate: u64,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    mut running: watch::Receiver<bool>,
) {
    let per_tick = (rate * TICK.as_millis() as u64 / 1000).max(1);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as i64;
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut deliveries = Vec::new();
    let mut reaping = Vec::new();
    let mut next = 0_i64;
    while *running.borrow() {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = running.changed() => continue,
        }
        for _ in 0..per_tick {
            let record = reading(start, next);
            next += 1;
            let value = kafka::encode_record(&record);
            let delivery = producer.send_result(kafka::reading_record(&topic, &record, &value));
            match delivery {
                Ok(delivery) => deliveries.push(delivery),
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // Delivery reports are awaited aside, so an outage does not hold up sending.
        if deliveries.len() >= 1_000 {
            let batch = std::mem::take(&mut deliveries);
            reaping.push(tokio::spawn(reap(
                batch,
                Arc::clone(&sent),
                Arc::clone(&failed),
            )));
        }
    }
    reap(deliveries, Arc::clone(&sent), Arc::clone(&failed)).await;
    for reaper in reaping {
        reaper.await.expect("delivery reports");
    }
}

async fn reap(
    deliveries: Vec<rdkafka::producer::DeliveryFuture>,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) {
    for result in futures::future::join_all(deliveries).await {
        match result {
            Ok(Ok(_)) => sent.fetch_add(1, Ordering::Relaxed),
            _ => failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Reading `n` of the run: 100 sensors, each reading a distinct microsecond.
fn reading(start_micros: i64, n: i64) -> ReadingRecord {
    let at = |micros: i64| Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    };
    ReadingRecord {
        sensor_id: format!("bench-{}", n % 100),
        measured_at: Some(at(start_micros - 3_600_000_000 + n)),
        celsius: (n % 400) as f64 / 10.0,
        ingested_at: Some(at(start_micros + n)),
    }
}

/// The process's peak resident memory (VmHWM), in MB; 0 when unreadable.
fn peak_rss_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
