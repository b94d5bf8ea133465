# syntax=docker/dockerfile:1
# One image for all four sensorpipe services (generator, ingest, saver, admin): docker-compose.yml
# picks the binary with each service's `command`. Build: docker compose build (or docker build .).
# The admin binary also serves the browser dashboard, built here from web/ and proto/.

# ---- web: the dashboard bundle (web/dist), the same `npm ci && npm run build` as scripts/dev ----
FROM node:20-bookworm-slim AS web

WORKDIR /src/web
# The lockfile alone first, so the dependency layer is reused until it changes. The cache mount
# keeps npm's download cache between builds.
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
# buf generates the client from ../proto (relative to web/), so proto/ sits beside web/ here too.
COPY proto/ /src/proto/
COPY web/ ./
RUN npm run build

# ---- build: the whole workspace, release, the four binaries only ------------------------------
FROM rust:1.95-bookworm AS build

# rdkafka builds its bundled librdkafka with gcc/make and links zlib and OpenSSL (for SASL_SSL);
# protox compiles proto/ in pure Rust, so no protoc; diesel-async is pure Rust, so no libpq.
# Unpinned on purpose (DL3008): the base image tag already fixes the Debian release, and pinned
# Debian versions vanish from the mirrors with every security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config zlib1g-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The whole workspace (.dockerignore drops target/, .stack/, .git/ ...): Cargo needs every member's
# manifest, and copying all of it stays right when a crate or a folder is added.
COPY . .

# Cache mounts keep the registry and target/ between builds (BuildKit, the default builder), so a
# rebuild after a code change recompiles only our crates. target/ lives in the cache, so the
# binaries are copied out in the same step. --locked: build exactly the committed Cargo.lock.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p generator -p ingest -p saver -p admin -p tokens \
 && mkdir -p /out \
 && for bin in generator ingest saver admin tokens; do cp "target/release/$bin" /out/; done

# ---- runtime: small Debian, no compiler, not root ---------------------------------------------
FROM debian:bookworm-slim

# ca-certificates for TLS endpoints if one is configured; zlib and OpenSSL are what librdkafka
# links against; the openssl command is what local-ca (compose's `certs`) makes certificates with.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates zlib1g libssl3 openssl \
 && rm -rf /var/lib/apt/lists/*

# /var/lib/sensorpipe/auth and /tls: where compose keeps the tokens file and the tokens it makes,
# and the local CA with the certificates, owned by the service user, so a named volume mounted
# there starts with that owner.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin sensorpipe \
 && install -d -o 10001 -g 10001 -m 700 /var/lib/sensorpipe/auth /var/lib/sensorpipe/tls

COPY --from=build /out/generator /out/ingest /out/saver /out/admin /out/tokens /usr/local/bin/
COPY --from=web /src/web/dist/ /usr/local/share/sensorpipe/web/
COPY scripts/local-ca /usr/local/bin/local-ca
# Where admin finds the dashboard (its default, web/dist, is relative to a checkout). Set in the
# image, beside the files it names, so every way of running the image serves them.
ENV ADMIN_WEB_DIR=/usr/local/share/sensorpipe/web

USER 10001:10001
# ingest 50051, admin 50052, saver 50053 (health/metrics); generator listens on nothing.
EXPOSE 50051 50052 50053
# No CMD on purpose: each compose service names its binary, e.g. `command: ["ingest"]`.
