//! Logging set-up shared by every service: a tracing subscriber writing to stderr, text or JSON.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetryArgs};

/// Installs the global subscriber. A bad filter falls back to `info` with a warning rather than
/// stopping the service over a typo in `RUST_LOG`.
pub fn init(args: &TelemetryArgs) {
    let (filter, bad_filter) = match EnvFilter::try_new(&args.log_filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a terminal, never into log files.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // `try_init`: tests may start several services in one process; the first subscriber wins.
    let _ = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Some(error) = bad_filter {
        tracing::warn!(filter = %args.log_filter, %error, "invalid log filter, using `info`");
    }
}
