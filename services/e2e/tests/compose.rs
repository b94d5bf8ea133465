//! Static checks of `docker-compose.yml` (no Docker engine runs here): every one of our services
//! sets only environment variables its config reads, sets every one whose default only makes sense
//! outside a container, is built from the one Dockerfile, and the infrastructure is what the local
//! stack runs too (Kafka 4 in KRaft mode, PostgreSQL, Envoy with `envoy.yaml`). Each check is also
//! shown to fail on a broken copy of the file.

use std::collections::BTreeMap;

use clap::CommandFactory;
use serde_yaml::Value;

const COMPOSE: &str = include_str!("../../../docker-compose.yml");

/// Environment variable name -> default value, for every setting of a service's config.
fn config_env(command: clap::Command) -> BTreeMap<String, String> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_string_lossy().into_owned();
            let default = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",");
            Some((env, default))
        })
        .collect()
}

/// Which config each container runs with (the one-shot `migrate` runs the saver binary).
fn configs() -> BTreeMap<&'static str, BTreeMap<String, String>> {
    BTreeMap::from([
        ("ingest", config_env(ingest::Config::command())),
        ("saver", config_env(saver::Config::command())),
        ("migrate", config_env(saver::Config::command())),
        ("admin", config_env(admin::Config::command())),
        ("generator", config_env(generator::Config::command())),
    ])
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    match service.get("environment") {
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
                };
                (k.as_str().unwrap().to_owned(), value)
            })
            .collect(),
        Some(Value::Sequence(list)) => list
            .iter()
            .map(|item| {
                let item = item.as_str().unwrap();
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Every problem found in a compose file; empty when it is right.
fn check(compose: &str) -> Vec<String> {
    let mut doc: Value = match serde_yaml::from_str(compose) {
        Ok(doc) => doc,
        Err(error) => return vec![format!("not YAML: {error}")],
    };
    // Resolve `<<: *anchor` merge keys, as Docker Compose does.
    if let Err(error) = doc.apply_merge() {
        return vec![format!("bad merge key: {error}")];
    }
    let Some(services) = doc.get("services") else {
        return vec!["no services".into()];
    };
    let mut problems = Vec::new();
    for (name, config) in configs() {
        let Some(service) = services.get(name) else {
            problems.push(format!("{name}: service missing"));
            continue;
        };
        let build = service.get("build");
        let dockerfile = build
            .and_then(|b| b.get("dockerfile"))
            .and_then(Value::as_str)
            .unwrap_or("Dockerfile");
        let context = build
            .and_then(|b| {
                b.as_str()
                    .or_else(|| b.get("context").and_then(Value::as_str))
            })
            .unwrap_or("");
        if build.is_none() || dockerfile != "Dockerfile" || !matches!(context, "." | "./") {
            problems.push(format!("{name}: not built from the one ./Dockerfile"));
        }
        let binary = if name == "migrate" { "saver" } else { name };
        let command = text(service.get("command"));
        if !command.starts_with(binary) {
            problems.push(format!(
                "{name}: command `{command}` does not run `{binary}`"
            ));
        }
        let env = environment(service);
        for key in env.keys() {
            if !config.contains_key(key) {
                problems.push(format!(
                    "{name}: sets {key}, which its config does not read"
                ));
            }
        }
        for (key, default) in &config {
            // A loopback default reaches nothing from inside a container. `saver migrate` only
            // talks to the database.
            let used = name != "migrate" || key == "DATABASE_URL";
            if used && default.contains("127.0.0.1") && !env.contains_key(key) {
                problems.push(format!(
                    "{name}: must set {key} (default {default} is loopback)"
                ));
            }
        }
        for (key, value) in &env {
            // Origins are where the browser is, on the host, not an address the container uses.
            let browser_side = key.ends_with("_CORS_ALLOWED_ORIGINS");
            if !browser_side && (value.contains("127.0.0.1") || value.contains("localhost")) {
                problems.push(format!(
                    "{name}: {key}={value} is loopback inside a container"
                ));
            }
        }
    }
    let image = |name: &str| {
        services
            .get(name)
            .and_then(|s| s.get("image"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if !image("kafka").starts_with("apache/kafka:4.") {
        problems.push(format!(
            "kafka: image `{}` is not apache/kafka 4.x",
            image("kafka")
        ));
    }
    let kafka_env = services.get("kafka").map(environment).unwrap_or_default();
    if !kafka_env
        .get("KAFKA_PROCESS_ROLES")
        .is_some_and(|r| r.contains("controller"))
    {
        problems.push("kafka: not a KRaft broker+controller (KAFKA_PROCESS_ROLES)".into());
    }
    if !image("postgres").starts_with("postgres:") {
        problems.push(format!(
            "postgres: image `{}` is not postgres",
            image("postgres")
        ));
    }
    if !image("envoy").starts_with("envoyproxy/envoy:") {
        problems.push(format!(
            "envoy: image `{}` is not envoyproxy/envoy",
            image("envoy")
        ));
    }
    let envoy_volumes = services
        .get("envoy")
        .and_then(|s| s.get("volumes"))
        .and_then(Value::as_sequence)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    if !envoy_volumes.contains("./envoy.yaml:/etc/envoy/envoy.yaml") {
        problems.push("envoy: does not mount ./envoy.yaml".into());
    }
    problems
}

/// A copy of the real file with one replacement; fails if the replacement no longer applies, so
/// the broken-file tests cannot go stale silently.
fn broken(from: &str, to: &str) -> String {
    assert!(
        COMPOSE.contains(from),
        "docker-compose.yml no longer contains {from:?}"
    );
    COMPOSE.replacen(from, to, 1)
}

#[test]
fn compose_matches_the_services_configs() {
    assert_eq!(check(COMPOSE), Vec::<String>::new());
}

#[test]
fn compose_check_fails_on_an_unknown_variable() {
    let bad = broken("INGEST_LISTEN_ADDR:", "INGEST_LISTEN_ADRESS:");
    let problems = check(&bad);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("sets INGEST_LISTEN_ADRESS")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("must set INGEST_LISTEN_ADDR")),
        "{problems:?}"
    );
}

#[test]
fn compose_check_fails_on_a_loopback_address() {
    let bad = broken("KAFKA_BROKERS: kafka:9092", "KAFKA_BROKERS: 127.0.0.1:9092");
    assert!(check(&bad).iter().any(|p| p.contains("is loopback")));
}

#[test]
fn compose_check_fails_on_wrong_images_and_mounts() {
    let problems = check(&broken("apache/kafka:4.", "bitnami/kafka:3."));
    assert!(
        problems.iter().any(|p| p.starts_with("kafka: image")),
        "{problems:?}"
    );
    let problems = check(&broken("./envoy.yaml:", "./other.yaml:"));
    assert!(
        problems.iter().any(|p| p.contains("does not mount")),
        "{problems:?}"
    );
    assert!(!check("services: [").is_empty());
}

/// What needs no Rust config is checked by `stack/checks/validate_compose.py`: the Compose
/// schema, references between services, reachability, ports, topics, the Dockerfile (hadolint).
#[test]
fn compose_passes_the_schema_and_wiring_check() {
    let verdict = testkit::static_check::run(
        "validate_compose.py",
        std::path::Path::new("docker-compose.yml"),
    );
    assert!(
        verdict.ok && verdict.stdout.starts_with("OK docker-compose.yml"),
        "{verdict:?}"
    );
}

#[test]
fn compose_schema_check_fails_on_a_broken_file() {
    let verdict = testkit::static_check::run_on_broken_copy(
        "validate_compose.py",
        "docker-compose.yml",
        "condition: service_healthy",
        "condition: service_happy",
    );
    assert_eq!(verdict.exit_code, Some(1), "{verdict:?}");
    assert!(
        verdict.stdout.starts_with("INVALID ") && verdict.stdout.contains("service_happy"),
        "{verdict:?}"
    );
}

/// Envoy finds its certificates in tls/ under its working directory (envoy.yaml): without the
/// `tls` volume there, it could not start.
#[test]
fn compose_check_fails_when_envoy_has_no_certificates() {
    let verdict = testkit::static_check::run_on_broken_copy(
        "validate_compose.py",
        "docker-compose.yml",
        "    working_dir: /var/lib/sensorpipe\n",
        "    working_dir: /etc/envoy\n",
    );
    assert_eq!(verdict.exit_code, Some(1), "{verdict:?}");
    assert!(
        verdict.stdout.starts_with("INVALID ")
            && verdict
                .stdout
                .contains("nothing is mounted at /etc/envoy/tls"),
        "{verdict:?}"
    );
}
