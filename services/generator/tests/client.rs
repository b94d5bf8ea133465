//! The generator's client against a fake ingest: delivery, resends after failures, rejects,
//! giving up, backpressure and Ctrl-C.

#[path = "support/fake_ingest.rs"]
mod fake_ingest;
#[path = "support/proxy.rs"]
mod proxy;
#[path = "support/rules.rs"]
mod rules;

use std::{future::Future, time::Duration};

use clap::Parser;
use fake_ingest::{Ending, FakeIngest, StreamScript};
use generator::{Config, Outcome, Summary};
use tokio::sync::oneshot;

/// Unpaced, fixed seed, short waits; `extra` flags override these.
fn config(url: &str, extra: &[&str]) -> Config {
    let mut args = vec![
        "generator",
        "--ingest-url",
        url,
        "--seed",
        "42",
        "--rate",
        "0",
        "--sensors",
        "50",
        "--give-up-after",
        "10s",
        "--shutdown-grace",
        "2s",
    ];
    args.extend_from_slice(extra);
    Config::try_parse_from(args).unwrap()
}

/// A hung client fails the test instead of hanging it.
async fn within<T>(secs: u64, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), future)
        .await
        .expect("timed out")
}

async fn run(config: Config) -> Summary {
    within(30, generator::run(config, std::future::pending()))
        .await
        .unwrap()
}

/// A run (`extra` flags) to its end against a fake ingest that acks every batch at once.
async fn run_against_a_fake(extra: &[&str]) -> (fake_ingest::Running, Summary) {
    let ingest = FakeIngest::new(vec![]).start().await;
    let summary = run(config(&ingest.url(), extra)).await;
    (ingest, summary)
}

/// Starts a run that stops when the returned sender fires (or is dropped).
fn spawn_run(config: Config) -> (tokio::task::JoinHandle<Summary>, oneshot::Sender<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        generator::run(config, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap()
    });
    (task, stop)
}

/// A fake ingest that acks nothing until released, and a run against it (`extra` flags) that has
/// sent its four allowed unacked batches of 100 readings and now waits for acks.
async fn run_stuck_at_four_unacked(
    extra: &[&str],
) -> (
    fake_ingest::Running,
    tokio::task::JoinHandle<Summary>,
    oneshot::Sender<()>,
) {
    let ingest = FakeIngest::new(vec![StreamScript {
        ack_first: Some(0),
        end_after: None,
    }])
    .start()
    .await;
    let mut args = vec!["--batch-size", "100", "--max-unacked", "4"];
    args.extend_from_slice(extra);
    let (task, stop) = spawn_run(config(&ingest.url(), &args));
    within(10, ingest.fake.wait_for_batches(4)).await;
    (ingest, task, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_run_delivers_every_reading_exactly_once() {
    let (ingest, summary) = run_against_a_fake(&["--count", "10000", "--batch-size", "250"]).await;

    assert_eq!(summary.outcome, Outcome::Completed);
    assert!(summary.is_success(), "{summary}");
    assert_eq!(summary.sent, 10_000);
    assert_eq!(summary.sent_batches, 40);
    assert_eq!(summary.accepted, 10_000);
    assert_eq!(
        (summary.rejected, summary.injected_bad, summary.undelivered),
        (0, 0, 0)
    );
    assert_eq!((summary.resent_batches, summary.reconnects), (0, 0));
    assert_eq!(summary.unexpected_acks, 0);
    assert!(summary.ack_latency_p50 <= summary.ack_latency_p99);
    assert!(summary.ack_latency_p99 > Duration::ZERO);
    let text = summary.to_string();
    assert!(
        text.contains("readings/s") && text.contains("p99"),
        "{text}"
    );

    let record = ingest.fake.record();
    assert_eq!(record.streams, 1);
    assert_eq!(record.readings, 10_000);
    assert_eq!(record.identities.len(), 10_000);
    assert!(record.identities.values().all(|&n| n == 1));
    assert_eq!(record.from_the_future, 0);
    assert_eq!(
        record.closed_by_client, 1,
        "the client ends its side of the call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_ended_streams_are_reopened_and_unacked_batches_resent() {
    let ingest = FakeIngest::new(vec![
        StreamScript {
            ack_first: Some(3),
            end_after: Some((6, Ending::Status(tonic::Code::Unavailable))),
        },
        StreamScript {
            ack_first: Some(2),
            end_after: Some((4, Ending::Early)),
        },
    ])
    .start()
    .await;
    let summary = run(config(
        &ingest.url(),
        &[
            "--count",
            "5000",
            "--batch-size",
            "100",
            "--max-unacked",
            "8",
        ],
    ))
    .await;

    assert!(summary.is_success(), "{summary}");
    assert_eq!(summary.reconnects, 2);
    assert!(summary.resent_batches >= 3 + 2, "{summary}");
    assert_eq!((summary.sent, summary.accepted), (5000, 5000));
    assert_eq!(summary.undelivered, 0);

    let record = ingest.fake.record();
    assert_eq!(record.streams, 3);
    assert_eq!(record.identities.len(), 5000, "every reading arrived");
    assert!(
        record.identities.values().any(|&n| n > 1),
        "some arrived twice"
    );
    assert_eq!(record.resends_differing, 0, "a resend repeats its batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_survived() {
    let ingest = FakeIngest::new(vec![StreamScript {
        ack_first: Some(2),
        end_after: None,
    }])
    .start()
    .await;
    let proxy = proxy::Proxy::start(ingest.addr).await;
    let (task, _stop) = spawn_run(config(
        &proxy.url(),
        &[
            "--count",
            "3000",
            "--batch-size",
            "100",
            "--max-unacked",
            "8",
        ],
    ));
    within(10, ingest.fake.wait_for_batches(5)).await;
    proxy.cut();
    let summary = within(30, task).await.unwrap();

    assert!(summary.is_success(), "{summary}");
    assert!(summary.reconnects >= 1);
    assert!(summary.resent_batches >= 3, "{summary}");
    assert_eq!(summary.accepted, 3000);
    let record = ingest.fake.record();
    assert_eq!(record.identities.len(), 3000);
    assert_eq!(record.resends_differing, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_in_acks_are_counted_by_reason() {
    let (ingest, summary) = run_against_a_fake(&[
        "--count",
        "5000",
        "--batch-size",
        "100",
        "--bad-rate",
        "0.1",
    ])
    .await;

    assert!(summary.is_success(), "rejects are not failures: {summary}");
    assert!(summary.injected_bad > 300, "{summary}");
    assert_eq!(summary.rejected, summary.injected_bad);
    assert_eq!(summary.accepted + summary.rejected, 5000);
    assert_eq!(
        summary.rejects_by_reason.values().sum::<u64>(),
        summary.rejected
    );
    assert_eq!(summary.rejects_by_reason.len(), 5, "{summary}");
    assert_eq!(ingest.fake.record().rejected as u64, summary.rejected);
    assert!(summary.to_string().contains("INVALID_SENSOR_ID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_when_nothing_listens() {
    let free_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{free_port}");
    let started = std::time::Instant::now();
    let summary = within(
        10,
        generator::run(
            config(
                &url,
                &[
                    "--count",
                    "1000",
                    "--batch-size",
                    "100",
                    "--give-up-after",
                    "500ms",
                ],
            ),
            std::future::pending(),
        ),
    )
    .await
    .unwrap();

    assert!(
        matches!(summary.outcome, Outcome::GaveUp { .. }),
        "{summary}"
    );
    assert!(!summary.is_success());
    assert_eq!(summary.sent, 0);
    assert_eq!(summary.undelivered, 1000, "{summary}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_batches_never_exceed_max_unacked() {
    let (ingest, task, _stop) = run_stuck_at_four_unacked(&["--count", "2000"]).await;
    // Waiting for something not to happen has no signal: give a fifth batch time to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let record = ingest.fake.record();
        assert_eq!(
            record.batches, 4,
            "generation waits while 4 batches are unacked"
        );
        assert_eq!(record.max_unacked, 4);
    }
    ingest.fake.release();
    let summary = within(30, task).await.unwrap();

    assert!(summary.is_success(), "{summary}");
    assert_eq!(summary.accepted, 2000);
    assert_eq!(ingest.fake.record().max_unacked, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_argument_fails_the_run_without_retrying() {
    let ingest = FakeIngest::new(vec![StreamScript {
        ack_first: None,
        end_after: Some((1, Ending::Status(tonic::Code::InvalidArgument))),
    }])
    .start()
    .await;
    let summary = run(config(
        &ingest.url(),
        &["--count", "1000", "--batch-size", "100"],
    ))
    .await;

    assert!(
        matches!(summary.outcome, Outcome::Failed { .. }),
        "{summary}"
    );
    assert!(!summary.is_success());
    assert_eq!(ingest.fake.record().streams, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_generating_and_waits_for_acks() {
    let ingest = FakeIngest::new(vec![]).start().await;
    let (task, stop) = spawn_run(config(&ingest.url(), &["--batch-size", "100"]));
    within(10, ingest.fake.wait_for_batches(20)).await;
    stop.send(()).unwrap();
    let summary = within(10, task).await.unwrap();

    assert_eq!(summary.outcome, Outcome::Interrupted);
    assert!(summary.is_success(), "{summary}");
    assert!(summary.sent >= 2000);
    assert_eq!(summary.accepted, summary.sent);
    let record = ingest.fake.record();
    assert_eq!(record.readings as u64, summary.sent);
    assert_eq!(record.closed_by_client, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_with_acks_stuck_reports_them_undelivered_after_the_grace() {
    let (_ingest, task, stop) = run_stuck_at_four_unacked(&["--shutdown-grace", "300ms"]).await;
    stop.send(()).unwrap();
    let summary = within(5, task).await.unwrap();

    assert_eq!(summary.outcome, Outcome::Interrupted);
    assert!(!summary.is_success());
    assert_eq!(summary.undelivered, 400, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_run_follows_the_rate_with_timestamps_in_the_past() {
    let (ingest, summary) = run_against_a_fake(&[
        "--rate",
        "2000",
        "--count",
        "1000",
        "--batch-size",
        "100",
        "--sensors",
        "10",
    ])
    .await;

    assert!(summary.is_success(), "{summary}");
    // Ten batches, 50 ms apart, the first at once.
    assert!(summary.elapsed >= Duration::from_millis(440), "{summary}");
    assert!(summary.elapsed < Duration::from_secs(3), "{summary}");
    let record = ingest.fake.record();
    assert_eq!(record.identities.len(), 1000);
    assert_eq!(record.from_the_future, 0);
}

/// Not a test of correctness: generator plus fake ingest on one machine, for rough numbers.
/// `cargo test -p generator --release --test client -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn client_throughput() {
    let ingest = FakeIngest::lean().start().await;
    let summary = within(
        120,
        generator::run(
            config(&ingest.url(), &["--count", "2000000", "--sensors", "1000"]),
            std::future::pending(),
        ),
    )
    .await
    .unwrap();
    assert!(summary.is_success(), "{summary}");
    println!("{summary}");
}
