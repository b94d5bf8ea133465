//! Auth is on unless switched off, and switching it off is loud: the binary refuses to start
//! without a tokens file, naming both ways out, and with `--insecure-no-auth` it warns at start-up
//! and says so on `/metrics` for as long as it runs.

use std::process::Stdio;

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

fn ingest(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ingest"));
    command
        .args(["--listen-addr", "127.0.0.1:0", "--kafka-brokers"])
        .arg(testkit::kafka_brokers())
        .args(args)
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "info")
        .env_remove("AUTH_TOKENS_FILE")
        .env_remove("INSECURE_NO_AUTH")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_tokens_file_ingest_refuses_to_start_and_names_both_ways_out() {
    testkit::require_kafka().await;
    let output = ingest(&[]).output().await.expect("ingest runs");
    assert!(!output.status.success(), "it must not serve without auth");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--auth-tokens-file"), "{said}");
    assert!(said.contains("--insecure-no-auth"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_auth_off_ingest_warns_at_start_and_on_metrics() {
    testkit::require_kafka().await;
    let mut child = ingest(&["--insecure-no-auth"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("ingest runs");
    // Logs go to stderr; read until it listens, keeping what it said before.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = Vec::new();
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("ingest ended before listening: {said:#?}"));
        if line.contains("ingest listening") {
            let addr = line.split("addr=").nth(1).expect("the address is logged");
            break addr.split_whitespace().next().unwrap().to_owned();
        }
        said.push(line);
    };
    assert!(
        said.iter()
            .any(|line| line.contains("WARN") && line.contains("--insecure-no-auth")),
        "a warning before it serves: {said:#?}"
    );
    let metrics = testkit::fetch_metrics(&format!("http://{addr}")).await;
    assert_eq!(
        testkit::metric_value(&metrics, "sensorpipe_auth_enabled"),
        0.0
    );
    child.kill().await.unwrap();
}
