//! `ListMeasurements` and `ListSensors` latency and HTTP JSON throughput against a running admin
//! service.
//!
//! `scripts/bench admin` fills a database with millions of rows, starts the release admin on it
//! and runs this; by hand, against any admin:
//!
//! ```text
//! cargo bench -p admin --bench list_latency -- --url http://127.0.0.1:50052 \
//!     --sensor-id sensor-0042 [--database-url postgres://...]
//! ```
//!
//! 1. With `--database-url`: the admin's own queries under `EXPLAIN (ANALYZE, BUFFERS)`
//!    (`admin::store::explain`), and which index each one used.
//! 2. gRPC, one channel, one request at a time after a warm-up: `ListMeasurements` for the newest
//!    page of all sensors, of one sensor, and the second page (the first page's token);
//!    p50/p90/p99/max.
//! 3. gRPC, the same way: `ListSensors` for the first page and a later one (the token after
//!    `--sensor-pages` pages), each answer checked (a full page, ids ascending, counts set).
//! 4. HTTP JSON: `--clients` keep-alive connections, each sending `GET /measurements?limit=N` as
//!    fast as it gets answers for `--duration`; requests/s, p50/p99 and errors (anything but a
//!    200 with a full page); with the admin's list cache events over that run. Then the same for
//!    the second page (its page token), which always comes from the database.
//!
//! The client runs on `--client-threads` tokio workers (default 1), so that on a small machine it
//! leaves the cores to the admin and PostgreSQL. Exits non-zero when a request failed or a response
//! was wrong; goals are printed next to the numbers, never asserted.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use clap::Parser;
use sensorpipe::proto::v1::{
    ListMeasurementsRequest, ListSensorsRequest, admin_service_client::AdminServiceClient,
};
use tonic::transport::Channel;

/// The design's goals for this leg (docs: DESIGN.md, performance goals).
const GOAL_P99: Duration = Duration::from_millis(5);
const GOAL_HTTP_RPS: f64 = 10_000.0;

#[derive(Debug, Parser)]
#[command(about = "ListMeasurements latency (gRPC) and HTTP JSON requests/s of a running admin")]
struct Args {
    /// The admin's base URL (gRPC and HTTP JSON share the port).
    #[arg(long, default_value = "http://127.0.0.1:50052")]
    url: String,
    /// Sequential gRPC requests measured per query.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Unmeasured gRPC requests per query before measuring.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Page size of every request (`page_size`, HTTP `limit`).
    #[arg(long, default_value_t = 100)]
    page_size: i32,
    /// The sensor of the one-sensor query; it must have at least two pages of rows.
    #[arg(long, default_value = "sensor-0042")]
    sensor_id: String,
    /// The later `ListSensors` page measured: the one after this many pages.
    #[arg(long, default_value_t = 5)]
    sensor_pages: usize,
    /// Concurrent HTTP keep-alive clients, one connection each.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// How long the HTTP clients send requests.
    #[arg(long, default_value = "10s")]
    duration: humantime::Duration,
    /// Tokio worker threads of this client.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// When set, print the plans of the admin's queries on this database first.
    #[arg(long)]
    database_url: Option<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("list_latency: {error}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(args: &Args) -> Result<(), BoxError> {
    if let Some(database_url) = &args.database_url {
        print_plans(database_url).await?;
    }

    let channel = Channel::from_shared(args.url.clone())?.connect().await?;
    let mut client = AdminServiceClient::new(channel);
    let first = ListMeasurementsRequest {
        page_size: args.page_size,
        ..Default::default()
    };
    let one_sensor = ListMeasurementsRequest {
        page_size: args.page_size,
        sensor_id: args.sensor_id.clone(),
        ..Default::default()
    };
    let page_token = client
        .list_measurements(first.clone())
        .await?
        .into_inner()
        .next_page_token;
    if page_token.is_empty() {
        return Err("the first page has no next_page_token: the table holds too few rows".into());
    }
    let second = ListMeasurementsRequest {
        page_token,
        ..first.clone()
    };

    latency_header("gRPC ListMeasurements, one channel, sequential");
    let n = args.page_size;
    let mut missed = false;
    for (label, request) in [
        (format!("newest {n}, all sensors"), &first),
        (
            format!("newest {n}, one sensor ({})", args.sensor_id),
            &one_sensor,
        ),
        (
            format!("second page of {n}, all sensors (page_token)"),
            &second,
        ),
    ] {
        let mut latencies = sequential(&mut client, request, args).await?;
        missed |= latency_row(&label, &mut latencies);
    }

    missed |= list_sensors(&mut client, args).await?;

    let base = args.url.trim_end_matches('/');
    let first_url = format!("{base}/measurements?limit={n}");
    let cache_before = cache_events(base).await?;
    let first_load = http_load(args, &first_url).await?;
    let cache_after = cache_events(base).await?;
    // The second page never comes from the admin's cache: the same JSON work, plus the database.
    let second_url = format!("{first_url}&page_token={}", second.page_token);
    let second_load = http_load(args, &second_url).await?;
    println!();
    println!(
        "{:<52} {:>10} {:>8} {:>8} {:>8} {:>18}",
        format!(
            "HTTP JSON, {} keep-alive clients, {}",
            args.clients, args.duration
        ),
        "requests/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "goal"
    );
    let mut errors = 0;
    for (label, load, goal) in [
        (format!("GET /measurements?limit={n}"), &first_load, true),
        (
            format!("GET /measurements?limit={n}&page_token= (page 2)"),
            &second_load,
            false,
        ),
    ] {
        let mut latencies = load.latencies.clone();
        let [p50, p99] = percentiles(&mut latencies, [0.50, 0.99]);
        let rate = latencies.len() as f64 / load.elapsed.as_secs_f64();
        if goal {
            missed |= rate < GOAL_HTTP_RPS;
        }
        println!(
            "{:<52} {:>10.0} {:>8.3} {:>8.3} {:>8} {:>18}",
            label,
            rate,
            ms(p50),
            ms(p99),
            load.errors,
            if goal {
                verdict(rate >= GOAL_HTTP_RPS, ">= 10,000/s")
            } else {
                "(no goal)".to_owned()
            },
        );
        if let Some(error) = &load.first_error {
            println!("first HTTP error: {error}");
        }
        errors += load.errors;
    }
    let grew = |event: usize| cache_after[event] - cache_before[event];
    println!(
        "admin list cache during the first-page run: {:.0} hits, {:.0} misses, {:.0} snapshot \
         checks (every transaction on the PostgreSQL server starts a new generation)",
        grew(0),
        grew(1),
        grew(2)
    );
    if missed {
        println!("(a goal was missed: see the rows marked MISSED)");
    }
    if errors > 0 {
        return Err(format!("{errors} HTTP requests failed").into());
    }
    Ok(())
}

/// The admin's list cache counters (hit, miss, check) from its `/metrics`; zeros when absent.
async fn cache_events(base: &str) -> Result<[f64; 3], BoxError> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    Ok(["hit", "miss", "check"].map(|event| {
        let name = format!("admin_list_cache_events_total{{event=\"{event}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&name))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }))
}

/// The admin's queries, planned and run on `database_url`, with the indexes each one used.
async fn print_plans(database_url: &str) -> Result<(), BoxError> {
    let plans = admin::store::explain(database_url).await?;
    println!("EXPLAIN (ANALYZE, BUFFERS) of the admin's queries\n");
    let mut summary = Vec::new();
    for (name, plan) in &plans {
        println!("-- {name}");
        for line in plan.lines() {
            println!("   {line}");
        }
        println!();
        summary.push((name, plan_summary(plan)));
    }
    println!("plans in short:");
    for (name, line) in summary {
        println!("  {name:<40} {line}");
    }
    println!();
    Ok(())
}

/// "index X, Y; execution 0.08 ms", flagging a sequential scan or an explicit sort.
fn plan_summary(plan: &str) -> String {
    let mut indexes: Vec<&str> = Vec::new();
    for line in plan.lines() {
        let named = line
            .split_once(" using ")
            .or_else(|| line.split_once("Bitmap Index Scan on "));
        if let Some((_, rest)) = named {
            let index = rest.split_whitespace().next().unwrap_or_default();
            if !indexes.contains(&index) {
                indexes.push(index);
            }
        }
    }
    let mut out = if indexes.is_empty() {
        "no index".to_owned()
    } else {
        format!("index {}", indexes.join(", "))
    };
    if plan.contains("Seq Scan") {
        out.push_str("; SEQ SCAN");
    }
    if plan.lines().any(|line| {
        line.trim_start()
            .trim_start_matches("-> ")
            .starts_with("Sort ")
    }) {
        out.push_str("; SORT");
    }
    if let Some(time) = plan
        .lines()
        .find_map(|line| line.trim().strip_prefix("Execution Time: "))
    {
        out.push_str("; execution ");
        out.push_str(time);
    }
    out
}

/// `args.warmup` unmeasured, then `args.requests` measured calls of `request`, one at a time;
/// each answer is checked (a full page unless it is the last, newest first, of the sensor asked).
async fn sequential(
    client: &mut AdminServiceClient<Channel>,
    request: &ListMeasurementsRequest,
    args: &Args,
) -> Result<Vec<Duration>, BoxError> {
    let mut latencies = Vec::with_capacity(args.requests);
    for i in 0..args.warmup + args.requests {
        let start = Instant::now();
        let response = client
            .list_measurements(request.clone())
            .await?
            .into_inner();
        let took = start.elapsed();
        if i >= args.warmup {
            latencies.push(took);
        }
        let rows = &response.measurements;
        let last_page = response.next_page_token.is_empty();
        if rows.is_empty()
            || rows.len() > request.page_size as usize
            || (rows.len() < request.page_size as usize && !last_page)
        {
            let (asked, got) = (request.page_size, rows.len());
            return Err(
                format!("asked for {asked} rows, got {got} (last page: {last_page})").into(),
            );
        }
        if !request.sensor_id.is_empty() && rows.iter().any(|m| m.sensor_id != request.sensor_id) {
            return Err(format!("a row of another sensor than {}", request.sensor_id).into());
        }
        let keys: Vec<_> = rows
            .iter()
            .map(|m| {
                let at = m.measured_at.unwrap_or_default();
                (at.seconds, at.nanos, m.sensor_id.as_str())
            })
            .collect();
        if keys.windows(2).any(|pair| pair[0] <= pair[1]) {
            return Err("rows not in (measured_at, sensor_id) descending order".into());
        }
    }
    Ok(latencies)
}

/// `ListSensors` p50/p90/p99 for the first page and the page after `args.sensor_pages` pages;
/// whether a goal was missed.
async fn list_sensors(
    client: &mut AdminServiceClient<Channel>,
    args: &Args,
) -> Result<bool, BoxError> {
    let first = ListSensorsRequest {
        page_size: args.page_size,
        page_token: String::new(),
    };
    let mut later = first.clone();
    for _ in 0..args.sensor_pages {
        later.page_token = client
            .list_sensors(later.clone())
            .await?
            .into_inner()
            .next_page_token;
        if later.page_token.is_empty() {
            return Err(format!("fewer than {} pages of sensors", args.sensor_pages + 1).into());
        }
    }
    println!();
    latency_header("gRPC ListSensors, one channel, sequential");
    let n = args.page_size;
    let mut missed = false;
    for (label, request) in [
        (format!("first {n} sensors"), &first),
        (
            format!("{n} sensors after {} pages", args.sensor_pages),
            &later,
        ),
    ] {
        let mut latencies = Vec::with_capacity(args.requests);
        for i in 0..args.warmup + args.requests {
            let start = Instant::now();
            let response = client.list_sensors(request.clone()).await?.into_inner();
            let took = start.elapsed();
            if i >= args.warmup {
                latencies.push(took);
            }
            let sensors = &response.sensors;
            if sensors.len() != n as usize
                || sensors.windows(2).any(|p| p[0].sensor_id >= p[1].sensor_id)
                || sensors
                    .iter()
                    .any(|s| s.measurement_count == 0 || s.latest.is_none())
            {
                return Err(format!("{label}: not a full page of sensors in order").into());
            }
        }
        missed |= latency_row(&label, &mut latencies);
    }
    Ok(missed)
}

fn latency_header(title: &str) {
    println!(
        "{:<52} {:>8} {:>8} {:>8} {:>8} {:>8} {:>14}",
        title, "requests", "p50 ms", "p90 ms", "p99 ms", "max ms", "goal p99"
    );
}

/// Prints `label`'s percentiles against the p99 goal; whether it missed the goal.
fn latency_row(label: &str, latencies: &mut [Duration]) -> bool {
    let [p50, p90, p99, max] = percentiles(latencies, [0.50, 0.90, 0.99, 1.0]);
    println!(
        "{:<52} {:>8} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>14}",
        label,
        latencies.len(),
        ms(p50),
        ms(p90),
        ms(p99),
        ms(max),
        verdict(p99 <= GOAL_P99, "<= 5 ms"),
    );
    p99 > GOAL_P99
}

struct Load {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: u64,
    first_error: Option<String>,
}

/// `args.clients` connections, each with its own client (so one keep-alive connection each),
/// sending `GET url` (a `/measurements` page) back to back until `args.duration` has passed.
async fn http_load(args: &Args, url: &str) -> Result<Load, BoxError> {
    let mut clients = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .build()?;
        // Warm-up, and proof that the route answers a full JSON page.
        for _ in 0..10 {
            let body: serde_json::Value = client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let rows = body["measurements"].as_array().map_or(0, Vec::len);
            if rows != args.page_size as usize {
                return Err(format!("GET {url}: {rows} measurements in {body:.200}").into());
            }
        }
        clients.push(client);
    }

    let duration: Duration = args.duration.into();
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let url = url.to_owned();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(1 << 16);
                let (mut errors, mut first_error) = (0u64, None);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match get(&client, &url).await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert(error);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut load = Load {
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
        first_error: None,
    };
    for task in tasks {
        let (latencies, errors, first_error) = task.await?;
        load.latencies.extend(latencies);
        load.errors += errors;
        if load.first_error.is_none() {
            load.first_error = first_error;
        }
    }
    load.elapsed = start.elapsed();
    Ok(load)
}

/// One request; anything but a 200 with a JSON body is an error. The body is read in full but not
/// parsed, to keep the client's share of the cores small (the warm-up checked its content).
async fn get(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::OK || body.first() != Some(&b'{') {
        return Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    Ok(())
}

/// Nearest-rank percentiles (`1.0` is the maximum); sorts `samples`.
fn percentiles<const N: usize>(samples: &mut [Duration], ranks: [f64; N]) -> [Duration; N] {
    samples.sort_unstable();
    ranks.map(|rank| {
        if samples.is_empty() {
            return Duration::ZERO;
        }
        let index = ((rank * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index]
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn verdict(met: bool, goal: &str) -> String {
    format!("{goal} {}", if met { "ok" } else { "MISSED" })
}
