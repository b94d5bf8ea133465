//! `POST /measurements`: the original HTTP entry point, with the same rules and durability as
//! gRPC, and JSON errors naming the field. Also `GET /metrics`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, now_secs};

fn rfc3339(seconds_ago: i64) -> String {
    chrono::DateTime::from_timestamp(now_secs() - seconds_ago, 250_000_000)
        .unwrap()
        .to_rfc3339()
}

async fn post(app: &TestApp, body: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(app.url("/measurements"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.expect("every answer is JSON"))
}

#[tokio::test]
async fn one_reading_or_a_list_is_stored_once_confirmed() {
    let app = TestApp::spawn(&[]).await;
    let one = json!({"sensor_id": "http-1", "measured_at": rfc3339(5), "celsius": 19.25});
    let (status, body) = post(&app, &one.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"accepted": 1, "rejects": []}));

    let list = json!([
        {"sensor_id": "http-2", "measured_at": rfc3339(4), "celsius": 20.0},
        {"sensor_id": "http-3", "measured_at": rfc3339(3), "celsius": 151.0},
        {"sensor_id": "http-4", "celsius": 20.0},
    ]);
    let (status, body) = post(&app, &list.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1);
    let rejects = body["rejects"].as_array().unwrap();
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0]["index"], 1);
    assert_eq!(rejects[0]["reason"], "TEMPERATURE_OUT_OF_RANGE");
    assert_eq!(rejects[0]["field"], "celsius");
    assert_eq!(rejects[1]["index"], 2);
    assert_eq!(rejects[1]["reason"], "MISSING_TIMESTAMP");
    assert_eq!(rejects[1]["field"], "measured_at");

    let stored = app.stored().await;
    let mut keys: Vec<_> = stored.iter().map(|s| s.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["http-1", "http-2"]);
    let first = stored.iter().find(|s| s.key == "http-1").unwrap();
    assert_eq!(first.record.celsius, 19.25);
    assert_eq!(first.record.measured_at.unwrap().nanos, 250_000_000);
    app.stop().await;
}

#[tokio::test]
async fn a_reading_of_minus_zero_keeps_its_sign_on_the_topic() {
    let app = TestApp::spawn(&[]).await;
    let body = format!(
        r#"[{{"sensor_id": "http-neg-0", "measured_at": "{}", "celsius": -0.0}},
            {{"sensor_id": "http-pos-0", "measured_at": "{}", "celsius": 0.0}}]"#,
        rfc3339(2),
        rfc3339(2)
    );
    let (status, answer) = post(&app, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"accepted": 2, "rejects": []}));
    let stored = app.stop_and_read().await;
    let sign_of = |key: &str| {
        let celsius = stored.iter().find(|s| s.key == key).unwrap().record.celsius;
        assert_eq!(celsius, 0.0, "{key}");
        celsius.is_sign_negative()
    };
    assert!(sign_of("http-neg-0"), "-0.0 reached Kafka as 0.0");
    assert!(!sign_of("http-pos-0"));
}

#[tokio::test]
async fn bad_input_gets_400_naming_the_field() {
    let app = TestApp::spawn(&[]).await;
    let cases = [
        (
            json!({"sensor_id": "bad id", "measured_at": rfc3339(1), "celsius": 1}).to_string(),
            "sensor_id",
        ),
        (
            json!({"sensor_id": "s", "measured_at": rfc3339(-3600), "celsius": 1}).to_string(),
            "measured_at",
        ),
        (
            json!({"sensor_id": "s", "measured_at": rfc3339(1), "celsius": "warm"}).to_string(),
            "celsius",
        ),
        (
            json!({"sensor_id": "s", "measured_at": rfc3339(1)}).to_string(),
            "celsius",
        ),
        (
            json!({"sensor_id": "s", "measured_at": "noon", "celsius": 1}).to_string(),
            "measured_at",
        ),
        (
            json!([{"sensor_id": "s", "celsius": 1, "unit": "F"}]).to_string(),
            "[0].unit",
        ),
        (json!([]).to_string(), "readings"),
        ("{not json".to_owned(), "body"),
    ];
    for (body, field) in cases {
        let (status, answer) = post(&app, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert_eq!(
            answer["error"]["code"], "INVALID_ARGUMENT",
            "{body} -> {answer}"
        );
        assert_eq!(answer["error"]["field"], field, "{body} -> {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    assert!(app.stored().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let app = TestApp::spawn(&[]).await;
    let list = json!([
        {"sensor_id": "m-1", "measured_at": rfc3339(2), "celsius": 1.0},
        {"sensor_id": "m-2", "measured_at": rfc3339(2), "celsius": f64::MAX},
    ]);
    assert_eq!(post(&app, &list.to_string()).await.0, StatusCode::OK);
    testkit::assert_exported(
        &app.url(""),
        &[
            "ingest_readings_received_total",
            "ingest_readings_accepted_total",
            "ingest_readings_rejected_total{reason=\"REJECT_REASON_TEMPERATURE_OUT_OF_RANGE\"}",
            "ingest_readings_acked_total",
            "ingest_batches_acked_total",
            "ingest_in_flight_readings",
            "ingest_ack_latency_seconds_bucket",
        ],
    )
    .await;
    app.stop().await;
}
