#!/usr/bin/env python3
"""Offline check of docker-compose.yml and the Dockerfile it builds (no Docker engine needed).

Usage: validate_compose.py [PATH]   (default: docker-compose.yml; Dockerfile, .dockerignore and
envoy.yaml are looked up next to it)
Prints `OK PATH: ...` and exits 0, or prints `INVALID PATH: reason` and exits 1.

What `docker compose config` would catch, without the engine:
- the Compose Specification JSON schema (the copy vendored in PyPI `check-jsonschema`);
- references: depends_on targets and conditions, network_mode "service:X", named volumes,
  bind-mount sources, build context and Dockerfile.
What only starting the stack would show, checked here instead:
- one-shot services (service_completed_successfully) have no restart policy that keeps them up,
  service_healthy targets have a healthcheck;
- the four sensorpipe services: known binary, only the environment variables their config reads,
  listening on 0.0.0.0, every host they reach is a service they (transitively) depend on, the
  database credentials match the postgres service, the topic and its .dlq are created by kafka-init,
  the ports docs/api.md promises are published;
- Envoy: runs in admin's network namespace, mounts envoy.yaml and its certificates (tls/ in its
  working directory), its listener port is published on
  admin and its upstream port is admin's listen port;
- Dockerfile: the fixed base images, the binaries and scripts/local-ca (with openssl), the
  dashboard built with `npm ci && npm run build` (web/ and proto/) and copied to where the
  runtime's ADMIN_WEB_DIR points, a
  non-root runtime user, hadolint clean; .dockerignore keeps target/, .stack/, web/node_modules
  and web/dist out of the build context.
"""
import json
import re
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

from strict_yaml import Invalid, load_yaml

BINARIES = {"generator", "ingest", "saver", "admin", "tokens"}
# Scripts the image carries besides the binaries (one-shots run them; no config of their own).
IMAGE_SCRIPTS = {"local-ca": "scripts/local-ca"}
# Which variables each binary reads is checked against the configs themselves by the Rust test
# services/e2e/tests/compose.rs; this script checks what needs no Rust: schema, references,
# reachability, ports, topics, the Dockerfile.
LISTEN_ENV = {"ingest": "INGEST_LISTEN_ADDR", "saver": "SAVER_LISTEN_ADDR", "admin": "ADMIN_LISTEN_ADDR"}
PUBLISHED = {"ingest": [50051], "admin": [50052]}  # plus Envoy's listener port, on admin
WEB_IMAGE = "node:20-bookworm-slim"
BUILD_IMAGE = "rust:1.95-bookworm"
RUNTIME_IMAGE = "debian:bookworm-slim"
BUILD_PACKAGES = {"build-essential", "zlib1g-dev", "pkg-config"}
RUNTIME_PACKAGES = {"ca-certificates", "openssl"}
DOCKERIGNORE_MUST = {"target", ".stack", ".git", "web/node_modules", "web/dist"}
ONE_SHOT_RESTARTS = {"always", "unless-stopped"}


# ---- schema ----------------------------------------------------------------------------------

def check_schema(data):
    schema_file = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = list(validator.iter_errors(data))
    if errors:
        # A bad value inside a known key also makes that key "unevaluated" for the enclosing
        # object: report the value's own error, and inside oneOf/anyOf the deepest one.
        precise = [e for e in errors if e.validator != "unevaluatedProperties"]
        error = jsonschema.exceptions.best_match(precise or errors)
        while error.context:
            error = max(error.context, key=lambda e: len(e.absolute_path))
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise Invalid(f"schema: at {where}: {error.message}")


# ---- helpers ---------------------------------------------------------------------------------

def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def depends_of(svc):
    dep = svc.get("depends_on") or {}
    if isinstance(dep, list):
        return {name: {"condition": "service_started"} for name in dep}
    return dep


def command_of(svc):
    cmd = svc.get("command")
    if cmd is None:
        return []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def published_ports(svc):
    ports = set()
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            ports.add(int(p.get("published", p["target"])))
            continue
        parts = str(p).split("/")[0].split(":")
        ports.add(int(parts[-2] if len(parts) >= 2 else parts[-1]))
    return ports


def host_port(addr):
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise Invalid(f"address {addr!r} is not HOST:PORT")
    return host, int(port)


def closure(services, name):
    """Every service `name` waits for, directly or through others."""
    seen, todo = set(), [name]
    while todo:
        for dep in depends_of(services[todo.pop()]):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def sensorpipe_binary(svc):
    """The sensorpipe binary a service runs, or None for third-party images."""
    if "build" not in svc:
        return None
    cmd = command_of(svc)
    if cmd and cmd[0] in IMAGE_SCRIPTS:
        return None
    if not cmd or cmd[0] not in BINARIES:
        raise Invalid(f"command {cmd} does not start with one of {sorted(BINARIES | set(IMAGE_SCRIPTS))}")
    return cmd[0]


# ---- compose semantics -----------------------------------------------------------------------

def check_references(data, root):
    services = data.get("services") or {}
    volumes = set((data.get("volumes") or {}).keys())
    for name, svc in services.items():
        where = f"service {name!r}"
        for dep, spec in depends_of(svc).items():
            if dep not in services:
                raise Invalid(f"{where}: depends_on unknown service {dep!r}")
            cond = spec.get("condition", "service_started")
            target = services[dep]
            if cond == "service_healthy" and not target.get("healthcheck"):
                raise Invalid(f"{where}: waits for {dep!r} to be healthy, but it has no healthcheck")
            if cond == "service_completed_successfully" and target.get("restart") in ONE_SHOT_RESTARTS:
                raise Invalid(f"{where}: waits for {dep!r} to complete, but it restarts {target['restart']}")
        if name in closure(services, name):
            raise Invalid(f"{where}: depends_on cycle")
        mode = svc.get("network_mode", "")
        if mode.startswith("service:"):
            other = mode.split(":", 1)[1]
            if other not in services:
                raise Invalid(f"{where}: network_mode names unknown service {other!r}")
            if svc.get("ports"):
                raise Invalid(f"{where}: shares {other!r}'s network, so its ports belong on {other!r}")
        for vol in svc.get("volumes") or []:
            source = vol.get("source", "") if isinstance(vol, dict) else str(vol).split(":")[0]
            if source.startswith((".", "/")):
                if not (root / source).exists():
                    raise Invalid(f"{where}: bind-mount source {source} does not exist")
            elif source and source not in volumes:
                raise Invalid(f"{where}: volume {source!r} is not declared under top-level volumes")
        build = svc.get("build")
        if build is not None:
            context = root / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not (context / dockerfile).is_file():
                raise Invalid(f"{where}: build file {context / dockerfile} does not exist")
    return services


def check_sensorpipe_service(name, svc, services, root):
    where = f"service {name!r}"
    binary = sensorpipe_binary(svc)
    if not (root / "services" / binary).is_dir():
        raise Invalid(f"{where}: runs {binary!r}, but there is no services/{binary}/")
    env = env_of(svc)
    waits_for = closure(services, name)

    def must_reach(host, var):
        if host not in services:
            raise Invalid(f"{where}: {var} names host {host!r}, which is no service")
        if host not in waits_for:
            raise Invalid(f"{where}: {var} reaches {host!r}, but {name!r} does not depend on it")

    if binary in LISTEN_ENV and command_of(svc)[1:2] != ["migrate"]:
        var = LISTEN_ENV[binary]
        if var not in env:
            raise Invalid(f"{where}: {var} unset; the default 127.0.0.1 is unreachable from outside")
        host, port = host_port(env[var])
        if host != "0.0.0.0":
            raise Invalid(f"{where}: {var}={env[var]} must listen on 0.0.0.0 in a container")
        for want in PUBLISHED.get(binary, []):
            if want != port or want not in published_ports(svc):
                raise Invalid(f"{where}: must listen on and publish port {want}")
    if "KAFKA_BROKERS" in env:
        for broker in env["KAFKA_BROKERS"].split(","):
            must_reach(host_port(broker.strip())[0], "KAFKA_BROKERS")
    if "DATABASE_URL" in env:
        url = urlsplit(env["DATABASE_URL"])
        must_reach(url.hostname, "DATABASE_URL")
        pg = env_of(services[url.hostname])
        want = (pg.get("POSTGRES_USER"), pg.get("POSTGRES_PASSWORD"), "/" + pg.get("POSTGRES_DB", ""))
        if (url.username, url.password, url.path) != want:
            raise Invalid(f"{where}: DATABASE_URL user/password/database differ from {url.hostname!r}")
    if "INGEST_URL" in env:
        url = urlsplit(env["INGEST_URL"])
        must_reach(url.hostname, "INGEST_URL")
        ingest_env = env_of(services[url.hostname])
        if "INGEST_LISTEN_ADDR" not in ingest_env or url.port != host_port(ingest_env["INGEST_LISTEN_ADDR"])[1]:
            raise Invalid(f"{where}: INGEST_URL port is not {url.hostname!r}'s INGEST_LISTEN_ADDR port")
    if "KAFKA_TOPIC" in env:
        check_topics_created(where, env["KAFKA_TOPIC"], services, waits_for)
    return binary


def check_topics_created(where, topic, services, waits_for):
    for other in waits_for:
        script = " ".join(command_of(services[other])).replace("\\\n", " ")
        creates = [l for l in re.split(r"[\n;&|]+", script) if "kafka-topics" in l and "--create" in l]
        if creates:
            created = {t for l in creates for t in re.findall(r"--topic[ =]([\w.-]+)", l)}
            missing = {topic, topic + ".dlq"} - created
            if missing:
                raise Invalid(f"{where}: {other!r} does not create topic(s) {sorted(missing)}")
            return
    raise Invalid(f"{where}: nothing it depends on creates topic {topic!r} (auto-create is off)")


def check_envoy(services, root):
    envoys = [n for n, s in services.items() if str(s.get("image", "")).startswith("envoyproxy/envoy")]
    if len(envoys) != 1:
        raise Invalid(f"expected one envoyproxy/envoy service, found {envoys}")
    name, svc = envoys[0], services[envoys[0]]
    mode = svc.get("network_mode", "")
    host = mode.split(":", 1)[1] if mode.startswith("service:") else None
    if host is None or sensorpipe_binary(services[host]) != "admin":
        raise Invalid(f"service {name!r}: must run with network_mode \"service:<admin>\" (envoy.yaml uses 127.0.0.1)")
    mounts = [str(v) for v in svc.get("volumes") or [] if isinstance(v, str)]
    if not any(m.split(":")[:2] == ["./envoy.yaml", "/etc/envoy/envoy.yaml"] for m in mounts):
        raise Invalid(f"service {name!r}: must mount ./envoy.yaml at /etc/envoy/envoy.yaml")
    # envoy.yaml names its certificates relative to Envoy's working directory (tls/...).
    tls_dir = f"{svc.get('working_dir', '/')}".rstrip("/") + "/tls"
    if not any(m.split(":")[1:2] == [tls_dir] for m in mounts):
        raise Invalid(
            f"service {name!r}: envoy.yaml reads tls/ in its working directory, but nothing is "
            f"mounted at {tls_dir}"
        )
    envoy = load_yaml(root / "envoy.yaml")
    static = envoy.get("static_resources", {})
    listen = {l["address"]["socket_address"]["port_value"] for l in static.get("listeners", [])}
    upstream = {
        lb["endpoint"]["address"]["socket_address"]["port_value"]
        for c in static.get("clusters", [])
        for group in c.get("load_assignment", {}).get("endpoints", [])
        for lb in group.get("lb_endpoints", [])
    }
    missing = listen - published_ports(services[host])
    if missing:
        raise Invalid(f"service {host!r}: must publish Envoy's listener port(s) {sorted(missing)}")
    admin_port = host_port(env_of(services[host])["ADMIN_LISTEN_ADDR"])[1]
    if upstream != {admin_port}:
        raise Invalid(f"envoy.yaml upstream port(s) {sorted(upstream)} are not ADMIN_LISTEN_ADDR's {admin_port}")


# ---- Dockerfile ------------------------------------------------------------------------------

def dockerfile_instructions(path):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, buf = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def dockerfile_stages(path):
    """The stages in order, each {"image", "name", "lines": [(INSTRUCTION, arguments)]}."""
    stages, current = [], None
    for word, rest in dockerfile_instructions(path):
        if word == "FROM":
            parts = rest.split()
            current = {"image": parts[0], "name": parts[2] if len(parts) > 2 else None, "lines": []}
            stages.append(current)
        elif current is not None:
            current["lines"].append((word, rest))
    return stages


def stage_env(stage):
    """What a stage's ENV instructions set (`ENV K=V ...`, or the old `ENV K V`)."""
    env = {}
    for word, rest in stage["lines"]:
        if word != "ENV":
            continue
        parts = shlex.split(rest)
        if parts and "=" not in parts[0]:
            env[parts[0]] = " ".join(parts[1:])
        else:
            env.update(part.split("=", 1) for part in parts)
    return env


def copies(stage, source=None):
    """(sources, destination) of each COPY in a stage; only `COPY --from=<source>` when given."""
    out = []
    for word, rest in stage["lines"]:
        parts = rest.split()
        if word == "COPY" and (source is None or f"--from={source}" in parts):
            paths = [p for p in parts if not p.startswith("--")]
            out.append((paths[:-1], paths[-1]))
    return out


def check_dockerfile(root, admin_env):
    path = root / "Dockerfile"
    stages = dockerfile_stages(path)
    named = {s["name"]: s for s in stages if s["name"]}
    web, build, runtime = named.get("web"), named.get("build"), stages[-1] if stages else None
    if web is None or build is None or runtime in (web, build):
        raise Invalid("Dockerfile: expected stages `web` and `build`, and the runtime stage last")
    for stage, want in ((web, WEB_IMAGE), (build, BUILD_IMAGE), (runtime, RUNTIME_IMAGE)):
        if stage["image"] != want:
            name = stage["name"] or "runtime"
            raise Invalid(f"Dockerfile: stage {name} must be FROM {want}, is {stage['image']}")
    run_text = lambda stage: " ".join(r for w, r in stage["lines"] if w == "RUN")
    for step in ("npm ci", "npm run build"):
        if step not in run_text(web):
            raise Invalid(f"Dockerfile: the web stage does not run `{step}`")
    copied = {src.rstrip("/") for srcs, _ in copies(web) for src in srcs}
    missing = {"web/package-lock.json", "web", "proto"} - copied
    if missing:
        raise Invalid(f"Dockerfile: the web stage does not COPY {sorted(missing)} (npm ci, buf)")
    cargo = re.search(r"cargo build ([^&;]*)", run_text(build))
    if not cargo or "--release" not in cargo.group(1):
        raise Invalid("Dockerfile: the build stage has no `cargo build --release`")
    built = set(re.findall(r"(?:-p|--package|--bin)[ =]([\w-]+)", cargo.group(1)))
    if BINARIES - built:
        raise Invalid(f"Dockerfile: cargo build does not build {sorted(BINARIES - built)}")
    for stage, want in ((build, BUILD_PACKAGES), (runtime, RUNTIME_PACKAGES)):
        missing = {p for p in want if not re.search(rf"apt-get install[^&;]*\s{re.escape(p)}(\s|$)", run_text(stage))}
        if missing:
            raise Invalid(f"Dockerfile: stage {stage['image']} does not apt-get install {sorted(missing)}")
    to_bin = [srcs for srcs, dest in copies(runtime, "build") if dest == "/usr/local/bin/"]
    binaries = {Path(src).name for srcs in to_bin for src in srcs}
    if BINARIES - binaries:
        raise Invalid("Dockerfile: the runtime stage must COPY --from the build stage all four binaries to /usr/local/bin/")
    copied_to = {(src, dest) for srcs, dest in copies(runtime) for src in srcs}
    for name, src in IMAGE_SCRIPTS.items():
        if (src, f"/usr/local/bin/{name}") not in copied_to:
            raise Invalid(f"Dockerfile: the runtime stage must COPY {src} to /usr/local/bin/{name}")
    dashboard = [
        dest.rstrip("/")
        for srcs, dest in copies(runtime, "web")
        if any(src.rstrip("/").endswith("web/dist") for src in srcs)
    ]
    if not dashboard:
        raise Invalid("Dockerfile: the runtime stage must COPY --from=web the dashboard's web/dist")
    # The image sets it (compose may override it): either way it must name the copied build.
    web_dir = admin_env.get("ADMIN_WEB_DIR", stage_env(runtime).get("ADMIN_WEB_DIR"))
    if web_dir is None or web_dir.rstrip("/") != dashboard[0]:
        raise Invalid(
            f"admin's ADMIN_WEB_DIR ({web_dir}) is not where the Dockerfile copies the dashboard "
            f"({dashboard[0]})"
        )
    users = [r for w, r in runtime["lines"] if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        raise Invalid("Dockerfile: the runtime stage must end with a non-root USER")
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        raise Invalid("hadolint not found (pip install -r stack/checks/requirements.txt)")
    lint = subprocess.run([hadolint, "--no-color", str(path)], capture_output=True, text=True)
    if lint.returncode != 0:
        raise Invalid("hadolint: " + " | ".join((lint.stdout + lint.stderr).strip().splitlines()))
    ignored = {l.strip().rstrip("/") for l in (root / ".dockerignore").read_text().splitlines()}
    if DOCKERIGNORE_MUST - ignored:
        raise Invalid(f".dockerignore must exclude {sorted(DOCKERIGNORE_MUST - ignored)}")
    for src in IMAGE_SCRIPTS.values():
        excluded = any(src == p or src.startswith(p + "/") for p in ignored)
        if excluded and "!" + src not in ignored:
            raise Invalid(f".dockerignore excludes {src}, which the Dockerfile copies (add !{src})")


def main(path):
    path = Path(path)
    try:
        data = load_yaml(path)
        if not isinstance(data, dict):
            raise Invalid("top level is not a mapping")
        check_schema(data)
        root = path.resolve().parent
        services = check_references(data, root)
        binaries = {}
        for name, svc in services.items():
            try:
                binary = sensorpipe_binary(svc)
            except Invalid as e:
                raise Invalid(f"service {name!r}: {e}") from None
            if binary is not None:
                binaries[name] = check_sensorpipe_service(name, svc, services, root)
        missing = BINARIES - set(binaries.values())
        if missing:
            raise Invalid(f"no service runs {sorted(missing)}")
        check_envoy(services, root)
        admin = next(n for n, b in binaries.items() if b == "admin")
        check_dockerfile(root, env_of(services[admin]))
    except Invalid as e:
        print(f"INVALID {path}: {e}")
        return 1
    print(
        f"OK {path}: {len(services)} services ({', '.join(sorted(binaries))} from the Dockerfile), "
        "schema, references, environment, Envoy wiring, Dockerfile with the dashboard + hadolint"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit("usage: validate_compose.py [docker-compose.yml]")
    sys.exit(main(sys.argv[1] if len(sys.argv) == 2 else "docker-compose.yml"))
