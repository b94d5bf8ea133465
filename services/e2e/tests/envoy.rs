//! Keeps `envoy.yaml` honest without an Envoy binary: `stack/checks/validate_envoy.py` parses it
//! into Envoy's v3 `Bootstrap` (PyPI `envoy-data-plane`) and checks what sensorpipe needs from the
//! proxy (gRPC-Web, CORS, HTTP/2 to admin). The real file must pass and broken copies must fail.

use std::path::Path;

use testkit::static_check::{self, Verdict};

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
