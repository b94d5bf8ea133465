//! The admin service's settings: flags, environment variables and defaults in one place.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use axum::http::HeaderValue;
use clap::Parser;
use sensorpipe::config::{
    AuthArgs, DatabaseArgs, TelemetryArgs, TlsArgs, parse_duration, parse_positive_duration,
};

/// Serves stored measurements over gRPC, gRPC-Web and HTTP JSON.
#[derive(Debug, Clone, Parser)]
#[command(name = "admin", version, about)]
pub struct Config {
    /// Address for gRPC (and, on the same port, gRPC-Web, HTTP JSON and /metrics).
    #[arg(long, env = "ADMIN_LISTEN_ADDR", default_value = "127.0.0.1:50052")]
    pub listen_addr: SocketAddr,
    /// Most PostgreSQL connections open at once; calls beyond wait for a free one.
    #[arg(long, env = "ADMIN_DB_POOL_SIZE", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub db_pool_size: u16,
    /// How often the watch looks for newly saved rows (e.g. 100ms, 1s): the delay a watcher sees
    /// on top of the saver's.
    #[arg(long, env = "ADMIN_WATCH_POLL_INTERVAL", default_value = "100ms",
          value_parser = parse_positive_duration)]
    pub watch_poll_interval: Duration,
    /// How old an answer of ListMeasurements (first pages) served from memory may be: it holds
    /// every row committed this long before the call, or longer. Never more than the watch poll
    /// interval, the delay a row has on its way to a dashboard anyway. 0 turns the cache off.
    #[arg(long, env = "ADMIN_LIST_CACHE_MAX_AGE", default_value = "10ms",
          value_parser = parse_duration)]
    pub list_cache_max_age: Duration,
    /// How many rows a watcher may fall behind the newest saved row before it is cut off with
    /// RESOURCE_EXHAUSTED (it resumes with its cursor).
    #[arg(long, env = "ADMIN_WATCH_BUFFER", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub watch_buffer: u32,
    /// The browser dashboard's build (index.html, app.js, app.css), served at `/`. Relative to the
    /// working directory because `web/dist` is where `cd web && npm run build` puts it, so admin
    /// started from the repository root (`scripts/dev up`, `cargo run -p admin`) finds it with no
    /// setting; the container image sets an absolute path. Missing files only cost the page.
    #[arg(long, env = "ADMIN_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// Web origins (`https://dash.example.com`, comma separated) whose pages may call admin from a
    /// browser: gRPC-Web and HTTP JSON from another origin than admin's own port, e.g. the
    /// dashboard through Envoy. With auth on, no other origin may; with `--insecure-no-auth`, any.
    #[arg(long, env = "ADMIN_CORS_ALLOWED_ORIGINS", value_delimiter = ',',
          value_parser = parse_origin)]
    pub cors_allowed_origins: Vec<HeaderValue>,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// An origin as browsers send it: scheme, host and port, nothing else.
fn parse_origin(text: &str) -> Result<HeaderValue, String> {
    let text = text.trim();
    let valid = ["http://", "https://"]
        .iter()
        .find_map(|scheme| text.strip_prefix(scheme))
        .is_some_and(|host| !host.is_empty() && !host.contains('/'));
    if !valid {
        return Err(format!(
            "`{text}` is not an origin like https://dash.example.com or http://127.0.0.1:8080 \
             (scheme and host, no path)"
        ));
    }
    HeaderValue::from_str(text).map_err(|e| format!("`{text}`: {e}"))
}
