//! One reading per `POST /measurements` against a running ingest: durable readings per second.
//!
//! `scripts/bench http` starts the release ingest on a fresh topic and runs this at 16 and at 128
//! connections; by hand, against any ingest:
//!
//! ```text
//! cargo bench -p ingest --bench http_single -- --url http://127.0.0.1:50051 \
//!     --connections 16 --duration 10s
//! ```
//!
//! `--connections` keep-alive HTTP/1.1 connections, each posting one reading at a time (the next
//! only after the answer) for `--duration`. Every reading has its own `(sensor_id, measured_at)`:
//! one sensor per connection and run, one microsecond apart, so none is a duplicate of another
//! and the topic must end up holding at least as many records as were answered 200. Prints
//! readings/s (200 answers), p50/p99/max latency and errors (anything but a 200 accepting the
//! reading); the last line, `acked N`, is what `scripts/bench` compares with the topic.
//!
//! The client runs on `--client-threads` tokio workers (default 1), so that on a small machine it
//! leaves the cores to ingest and Kafka. Exits non-zero when a request failed; goals are printed
//! next to the numbers, never asserted.

use std::{
    net::SocketAddr,
    process::ExitCode,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode, client::conn::http1};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The design's goals for this leg (DESIGN.md, performance goals): durable readings/s at 16 and
/// at 128 connections.
const GOALS: [(usize, f64); 2] = [(16, 10_000.0), (128, 34_000.0)];

#[derive(Debug, Parser)]
#[command(about = "Durable readings/s of one reading per POST /measurements on a running ingest")]
struct Args {
    /// The ingest service's base URL (gRPC and HTTP share the port).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    url: String,
    /// Keep-alive connections, each with one request outstanding at a time.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// How long the connections send readings.
    #[arg(long, default_value = "10s")]
    duration: humantime::Duration,
    /// Unmeasured posts per connection before measuring (they are acked, and counted in `acked`).
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Tokio worker threads of this client.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
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
            eprintln!("http_single: {error}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(args: &Args) -> Result<(), BoxError> {
    let uri: hyper::Uri = args.url.parse()?;
    let host = uri.host().ok_or("--url has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let addr: SocketAddr = tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or("--url does not resolve")?;
    let authority = format!("{host}:{port}");
    // A prefix of its own per run: a rerun on the same topic adds readings, it never repeats one.
    let run_id = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let start_us = now_us() - 60_000_000;

    let mut connections = Vec::with_capacity(args.connections);
    for index in 0..args.connections {
        let mut connection = Connection::open(
            addr,
            authority.clone(),
            format!("http-bench-{run_id}-{index}"),
            start_us,
        )
        .await?;
        for _ in 0..args.warmup {
            connection.post().await?;
        }
        connections.push(connection);
    }
    let warmup_acked = (args.connections * args.warmup) as u64;

    let duration: Duration = args.duration.into();
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(1 << 15);
                let (mut errors, mut first_error) = (0u64, None);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match connection.post().await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert(error.to_string());
                            // A broken connection stays broken: stop this one.
                            if connection.sender.is_closed() {
                                break;
                            }
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0u64, None);
    for task in tasks {
        let (mine, my_errors, my_first) = task.await?;
        latencies.extend(mine);
        errors += my_errors;
        if first_error.is_none() {
            first_error = my_first;
        }
    }
    let elapsed = start.elapsed();

    let answered = latencies.len();
    let rate = answered as f64 / elapsed.as_secs_f64();
    let [p50, p99, max] = percentiles(&mut latencies, [0.50, 0.99, 1.0]);
    let goal = GOALS
        .iter()
        .rev()
        .find(|(connections, _)| args.connections >= *connections);
    println!(
        "{:<52} {:>10} {:>8} {:>8} {:>8} {:>8} {:>18}",
        format!(
            "POST /measurements, 1 reading, {} connections, {}",
            args.connections, args.duration
        ),
        "readings/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "goal"
    );
    println!(
        "{:<52} {:>10.0} {:>8.3} {:>8.3} {:>8.3} {:>8} {:>18}",
        format!("  {answered} answered 200 (durable in Kafka)"),
        rate,
        ms(p50),
        ms(p99),
        ms(max),
        errors,
        goal.map_or_else(
            || "-".to_owned(),
            |(_, goal)| verdict(rate >= *goal, &format!(">= {goal:.0}/s"))
        ),
    );
    if let Some(error) = &first_error {
        println!("first error: {error}");
    }
    println!("acked {}", answered as u64 + warmup_acked);
    if errors > 0 {
        return Err(format!("{errors} posts failed").into());
    }
    Ok(())
}

/// One keep-alive HTTP/1.1 connection and the one sensor whose readings it posts.
struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    authority: String,
    sensor_id: String,
    /// `measured_at` of the next reading, in microseconds since the epoch.
    next_us: i64,
}

impl Connection {
    async fn open(
        addr: SocketAddr,
        authority: String,
        sensor_id: String,
        start_us: i64,
    ) -> Result<Self, BoxError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            authority,
            sensor_id,
            next_us: start_us,
        })
    }

    /// Posts the next reading; anything but a 200 that accepted it is an error.
    async fn post(&mut self) -> Result<(), BoxError> {
        let measured_at = chrono::DateTime::from_timestamp_micros(self.next_us)
            .ok_or("measured_at out of range")?
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        self.next_us += 1;
        let body = format!(
            r#"{{"sensor_id":"{}","measured_at":"{measured_at}","celsius":21.5}}"#,
            self.sensor_id
        );
        let request = Request::post("/measurements")
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != StatusCode::OK || !body.starts_with(br#"{"accepted":1,"#) {
            return Err(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
            .into());
        }
        Ok(())
    }
}

fn now_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    since.as_micros() as i64
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
