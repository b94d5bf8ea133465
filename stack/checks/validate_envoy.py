#!/usr/bin/env python3
"""Offline check of envoy.yaml (no envoy binary needed).

Usage: validate_envoy.py [PATH]   (default: envoy.yaml)
Prints `OK PATH: ...` and exits 0, or prints `INVALID PATH: reason` and exits 1.

Two layers:
1. Schema: the YAML is parsed into Envoy's v3 `Bootstrap` message with the Python classes generated
   from envoyproxy/data-plane-api (PyPI `envoy-data-plane`). That rejects unknown fields (also inside
   typed_config / typed_per_filter_config), wrong types, bad enum values and unknown "@type"s. The
   module of every "@type" in the file is imported first, so its message is registered for `Any`.
2. What Envoy checks only at load time, plus what sensorpipe needs from this proxy: unique names,
   routes to defined clusters, the gRPC-Web filter before the router (router last), no CORS filter
   or policy (admin alone answers CORS, from its configured origins), TLS towards browsers (a
   certificate on every filter chain) and towards admin (every cluster verifies admin's
   certificate against a CA and a name, and offers in ALPN the HTTP it speaks), no route or idle
   timeout (server streaming, SSE), every cluster the admin service's port, and the requests sensorpipe's
   clients send routed as they must be: each gRPC-Web and gRPC call, in the form the browser sends
   and in the form the grpc_web filter turns it into, to a cluster speaking HTTP/2 (h2c); the
   dashboard's files, the JSON routes, the SSE watch and /metrics to some cluster.

Not checked: protoc-gen-validate rules and runtime facts (e.g. whether the port can be bound);
Envoy itself checks those: .stack/venv/bin/envoy --mode validate -c envoy.yaml
"""
import importlib
import sys

from strict_yaml import Invalid, load_yaml

TYPE_URL_PREFIX = "type.googleapis.com/"
HCM_NAME = "envoy.filters.network.http_connection_manager"
GRPC_WEB_FILTER = "envoy.filters.http.grpc_web"
CORS_FILTER = "envoy.filters.http.cors"
ROUTER_FILTER = "envoy.filters.http.router"
H2_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
ADMIN_PORT = 50052  # ADMIN_LISTEN_ADDR's port: the only upstream this proxy serves
LISTENER_PORT = 8443  # published by docker-compose.yml
DOWNSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
UPSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
# Requests sensorpipe's clients send through Envoy, as (path, content-type). gRPC-Web appears both
# as the browser sends it and as the grpc_web filter hands it on; either form may be what routing
# sees, so both must reach HTTP/2.
GRPC_REQUESTS = [
    ("/sensorpipe.v1.AdminService/ListMeasurements", "application/grpc-web+proto"),
    ("/sensorpipe.v1.AdminService/WatchMeasurements", "application/grpc-web-text"),
    ("/sensorpipe.v1.AdminService/ListSensors", "application/grpc-web"),
    ("/sensorpipe.v1.AdminService/ListMeasurements", "application/grpc"),
    ("/grpc.health.v1.Health/Check", "application/grpc+proto"),
]
HTTP_REQUESTS = [
    ("/", None), ("/app.js", None), ("/app.css", None), ("/measurements?limit=1", None),
    ("/sensors", None), ("/measurements/watch", "text/event-stream"), ("/metrics", None),
]
ZERO = ("0s", "0.000s")  # a disabled timeout, as written and as the parser renders it


def walk(node):
    """Yield every dict inside a parsed YAML/JSON tree."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def register_types(data):
    """Import the envoy_data_plane module of every "@type", so `Any` can unpack it."""
    for node in walk(data):
        url = node.get("@type")
        if url is None:
            continue
        if not isinstance(url, str) or not url.startswith(TYPE_URL_PREFIX):
            raise Invalid(f"@type {url!r} does not start with {TYPE_URL_PREFIX}")
        package = url[len(TYPE_URL_PREFIX):].rpartition(".")[0]
        try:
            importlib.import_module("envoy_data_plane." + package)
        except ImportError:
            raise Invalid(f"unknown @type {url} (no proto package {package})") from None


def parse_bootstrap(data):
    from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap

    try:
        return Bootstrap.from_dict(data)
    except Exception as e:  # unknown field, wrong type, bad enum, unregistered @type
        raise Invalid(f"{type(e).__name__}: {e}") from None


def unique_names(items, what):
    names = [i.get("name") for i in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise Invalid(f"duplicate {what} name(s) {dup}")
    return set(names)


def tls_context(holder, kind, where):
    """The TLS context of a listener's filter chain or a cluster, which must be of `kind`."""
    socket = holder.get("transportSocket")
    if socket is None:
        raise Invalid(f"{where}: no transport_socket (plaintext); sensorpipe's Envoy speaks TLS")
    context = socket.get("typedConfig", {})
    if context.get("@type") != TYPE_URL_PREFIX + kind:
        raise Invalid(f"{where}: transport_socket must be a {kind.rpartition('.')[2]}")
    return context.get("commonTlsContext", {})


def check_listener_tls(chain, where):
    context = tls_context(chain, DOWNSTREAM_TLS, where)
    if not context.get("tlsCertificates"):
        raise Invalid(f"{where}: no tls_certificates for browsers")


def check_upstream_tls(cluster):
    where = f"cluster {cluster['name']!r}"
    context = tls_context(cluster, UPSTREAM_TLS, where)
    validation = context.get("validationContext", {})
    if "trustedCa" not in validation:
        raise Invalid(f"{where}: no validation_context.trusted_ca: admin's certificate unchecked")
    if not validation.get("matchTypedSubjectAltNames"):
        raise Invalid(f"{where}: no match_typed_subject_alt_names: any name the CA signed passes")
    want = "h2" if speaks_http2(cluster) else "http/1.1"
    alpn = context.get("alpnProtocols", [])
    if alpn != [want]:
        raise Invalid(f"{where}: alpn_protocols must be [{want}] for the HTTP it speaks, have {alpn}")


def check_http_filters(hcm, where):
    names = [f.get("name") for f in hcm.get("httpFilters", [])]
    if not names or names[-1] != ROUTER_FILTER:
        raise Invalid(f"{where}: {ROUTER_FILTER} must be the last HTTP filter (have {names})")
    if GRPC_WEB_FILTER not in names:
        raise Invalid(f"{where}: no {GRPC_WEB_FILTER} filter (have {names})")
    if CORS_FILTER in names:
        raise Invalid(
            f"{where}: a {CORS_FILTER} filter; admin answers CORS from its configured origins "
            "and Envoy must not answer for it"
        )


def check_routes(hcm, where, clusters):
    """Check that no CORS policy is set, streaming timeouts, and that every route names a defined
    cluster."""
    route_config = hcm.get("routeConfig")
    if route_config is None:
        raise Invalid(f"{where}: no static route_config (RDS is not used here)")
    routed = set()
    for vhost in route_config.get("virtualHosts", []):
        vwhere = f"virtual host {vhost.get('name')!r}"
        scopes = [(vwhere, vhost)] + [
            (f"{vwhere} route {i}", r) for i, r in enumerate(vhost.get("routes", []))
        ]
        for swhere, scope in scopes:
            if CORS_FILTER in scope.get("typedPerFilterConfig", {}) or "cors" in scope:
                raise Invalid(f"{swhere}: a CORS policy; admin answers CORS, not Envoy")
        for i, r in enumerate(vhost.get("routes", [])):
            action = r.get("route")
            if action is None:
                continue
            if "cluster" not in action:
                raise Invalid(f"{vwhere} route {i}: routes to no single cluster")
            routed.add(action["cluster"])
            if action.get("timeout") not in ZERO:
                raise Invalid(
                    f"{vwhere} route {i}: timeout must be 0s (server streaming), "
                    f"have {action.get('timeout', 'the 15s default')}"
                )
            if action.get("idleTimeout") not in ZERO:
                raise Invalid(
                    f"{vwhere} route {i}: idle_timeout must be 0s (a quiet watch stays open), "
                    f"have {action.get('idleTimeout', 'the 5 min default')}"
                )
    missing = routed - clusters
    if missing:
        raise Invalid(f"route(s) to undefined cluster(s) {sorted(missing)}")


def check_admin_port(cluster):
    name = cluster["name"]
    ports = [
        lb.get("endpoint", {}).get("address", {}).get("socketAddress", {}).get("portValue")
        for group in cluster.get("loadAssignment", {}).get("endpoints", [])
        for lb in group.get("lbEndpoints", [])
    ]
    if not ports or any(p != ADMIN_PORT for p in ports):
        raise Invalid(f"cluster {name!r} must point to the admin port {ADMIN_PORT}, has {ports}")


def speaks_http2(cluster):
    options = cluster.get("typedExtensionProtocolOptions", {}).get(H2_OPTIONS, {})
    return "http2ProtocolOptions" in options.get("explicitHttpConfig", {})


# ---- routing: which route a request takes, as Envoy picks it (first match wins) ----------------

PATH_MATCHES = {"prefix", "path"}
KNOWN_MATCH_KEYS = PATH_MATCHES | {"headers", "grpc", "caseSensitive"}


def string_matches(matcher, value, where):
    if value is None:
        return False
    kinds = {
        "exact": str.__eq__, "prefix": str.startswith, "suffix": str.endswith,
        "contains": str.__contains__,
    }
    known = [k for k in matcher if k in kinds]
    unknown = set(matcher) - set(kinds) - {"ignoreCase"}
    if len(known) != 1 or unknown:
        raise Invalid(f"{where}: cannot evaluate string match {matcher} offline")
    want = matcher[known[0]]
    if matcher.get("ignoreCase"):
        value, want = value.lower(), want.lower()
    return kinds[known[0]](value, want)


def header_matches(matcher, headers, where):
    unknown = set(matcher) - {"name", "stringMatch", "presentMatch", "invertMatch"}
    if unknown:
        raise Invalid(f"{where}: cannot evaluate header match field(s) {sorted(unknown)} offline")
    value = headers.get(matcher["name"].lower())
    if "stringMatch" in matcher:
        found = string_matches(matcher["stringMatch"], value, where)
    else:
        found = value is not None
    return found != bool(matcher.get("invertMatch"))


def route_matches(match, path, headers, where):
    unknown = set(match) - KNOWN_MATCH_KEYS
    if unknown or len(PATH_MATCHES & set(match)) != 1:
        raise Invalid(f"{where}: cannot evaluate match {match} offline")
    if match.get("caseSensitive") is False:
        raise Invalid(f"{where}: cannot evaluate case-insensitive paths offline")
    path = path.split("?", 1)[0]
    if "prefix" in match and not path.startswith(match["prefix"]):
        return False
    if "path" in match and path != match["path"]:
        return False
    if "grpc" in match:
        content_type = headers.get("content-type") or ""
        if not (content_type == "application/grpc" or content_type.startswith("application/grpc+")):
            return False
    return all(header_matches(h, headers, where) for h in match.get("headers", []))


def route_of(route_config, path, content_type):
    """The route action a request to any host takes, or None when no route matches."""
    headers = {} if content_type is None else {"content-type": content_type}
    vhosts = [v for v in route_config.get("virtualHosts", []) if "*" in v.get("domains", [])]
    for vhost in vhosts[:1]:
        for i, r in enumerate(vhost.get("routes", [])):
            where = f"virtual host {vhost.get('name')!r} route {i}"
            if route_matches(r.get("match", {}), path, headers, where):
                return r.get("route")
    return None


def check_requests(route_config, by_name):
    """Each request sensorpipe's clients send lands where it must."""
    for path, content_type in GRPC_REQUESTS:
        action = route_of(route_config, path, content_type)
        request = f"POST {path} ({content_type})"
        if action is None:
            raise Invalid(f"{request} matches no route")
        if not speaks_http2(by_name[action["cluster"]]):
            raise Invalid(
                f"{request} is routed to cluster {action['cluster']!r}, which must speak HTTP/2 "
                "(explicit_http_config.http2_protocol_options) for gRPC"
            )
    for path, content_type in HTTP_REQUESTS:
        if route_of(route_config, path, content_type) is None:
            raise Invalid(f"GET {path} matches no route")


def check_semantics(b):
    """Checks on the canonical form (to_dict: camelCase names, every Any unpacked)."""
    static = b.to_dict().get("staticResources", {})
    listeners, clusters = static.get("listeners", []), static.get("clusters", [])
    unique_names(listeners, "listener")
    cluster_names = unique_names(clusters, "cluster")
    by_name = {c["name"]: c for c in clusters}
    if not any(
        l.get("address", {}).get("socketAddress", {}).get("portValue") == LISTENER_PORT
        for l in listeners
    ):
        raise Invalid(f"no listener on port {LISTENER_PORT}")
    hcms = 0
    for l in listeners:
        for i, chain in enumerate(l.get("filterChains", [])):
            check_listener_tls(chain, f"listener {l.get('name')!r} filter chain {i}")
            for f in chain.get("filters", []):
                if f.get("name") != HCM_NAME:
                    continue
                hcms += 1
                where = f"listener {l.get('name')!r}"
                hcm = f.get("typedConfig", {})
                check_http_filters(hcm, where)
                check_routes(hcm, where, cluster_names)
                check_requests(hcm["routeConfig"], by_name)
    if hcms == 0:
        raise Invalid(f"no {HCM_NAME} filter")
    for cluster in clusters:
        check_admin_port(cluster)
        check_upstream_tls(cluster)
    return len(listeners), len(clusters)


def main(path):
    try:
        data = load_yaml(path)
        if not isinstance(data, dict):
            raise Invalid("top level is not a mapping")
        register_types(data)
        n_listeners, n_clusters = check_semantics(parse_bootstrap(data))
    except Invalid as e:
        print(f"INVALID {path}: {e}")
        return 1
    print(
        f"OK {path}: {n_listeners} listener(s), {n_clusters} cluster(s); grpc_web before router, "
        f"no CORS of its own, TLS both ways, every upstream port {ADMIN_PORT}, gRPC(-Web) routed "
        "over HTTP/2"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit("usage: validate_envoy.py [envoy.yaml]")
    sys.exit(main(sys.argv[1] if len(sys.argv) == 2 else "envoy.yaml"))
