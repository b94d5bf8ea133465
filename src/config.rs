//! Settings every service shares. Each service's `Config` is a clap parser that flattens these
//! groups, so every setting is a flag, an environment variable and a default at once, and
//! `--help` documents all three. The variable names are the same for a local run and in
//! `docker-compose.yml` (a test checks that).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{ArgAction, Args, ValueEnum};

use crate::kafka_properties::KafkaProperties;

/// Kafka bootstrap servers of the local stack (`scripts/stack start`).
pub const DEFAULT_KAFKA_BROKERS: &str = "127.0.0.1:9092";
/// The topic readings travel on, from ingest to saver.
pub const DEFAULT_KAFKA_TOPIC: &str = "temperatures";
/// Where the saver sends records it cannot store.
pub const DEFAULT_DLQ_TOPIC: &str = "temperatures.dlq";
/// The database of the local stack (`scripts/stack start`). A development-only password.
pub const DEFAULT_DATABASE_URL: &str = "postgres://sensorpipe:sensorpipe@127.0.0.1:5432/cloud_db";

/// Parses a duration setting: `250ms`, `5s`, `2m`, `1h 30m` (humantime). Every duration of every
/// service takes this form, so no setting carries its unit in its name.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like 250ms, 5s or 2m: {e}"))
}

/// [`parse_duration`], refusing zero: for timeouts and intervals where zero would mean never
/// waiting (a spinning loop, or every call failing at once).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!("`{text}` must be longer than zero")),
        duration => Ok(duration),
    }
}

/// Reads a secret (`what`: a token, a database URL) kept in a file rather than on the command
/// line, where every local user could read it in the process list. The file holds the secret
/// alone on one line; surrounding whitespace (the trailing newline) is dropped. Errors name the
/// file, never its content.
pub fn read_secret_file(path: &Path, what: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the {what} file {}: {error}", path.display()))?;
    let path = path.display();
    let secret = text.trim();
    if secret.is_empty() {
        return Err(format!("the {what} file {path} is empty"));
    }
    if secret.contains('\n') {
        return Err(format!(
            "the {what} file {path} has more than one line: it holds the {what} alone"
        ));
    }
    Ok(secret.to_owned())
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event, for people at a terminal.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Which events to log, as a tracing filter: `info`, `debug`, `ingest=debug,info`, ...
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
}

/// Where Kafka is and which topic carries the readings.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, comma separated `host:port`.
    #[arg(long, env = "KAFKA_BROKERS", default_value = DEFAULT_KAFKA_BROKERS)]
    pub kafka_brokers: String,
    /// Topic of the readings (key: sensor id, value: protobuf `sensorpipe.v1.ReadingRecord`).
    #[arg(long, env = "KAFKA_TOPIC", default_value = DEFAULT_KAFKA_TOPIC)]
    pub kafka_topic: String,
    /// librdkafka client settings for every Kafka client (TLS, SASL/SCRAM, ...): a properties
    /// file, `key=value` per line, `#` comments. Read at start-up; its values are never logged.
    #[arg(long, env = "KAFKA_CONFIG_FILE", value_name = "FILE", value_parser = KafkaProperties::from_arg)]
    pub kafka_config_file: Option<KafkaProperties>,
}

/// Who may call a service that takes requests (see `sensorpipe::auth`).
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// The tokens file (`tokens create` makes it): the hashes of the bearer tokens callers must
    /// present, with their scopes. Reloaded when it changes, so created and revoked tokens take
    /// effect within the reload interval, without a restart.
    #[arg(long, env = "AUTH_TOKENS_FILE", value_name = "PATH")]
    pub auth_tokens_file: Option<PathBuf>,
    /// Serve without authentication: anyone who reaches the port may call. For a local playground
    /// only: warned at start-up and shown on /metrics as `sensorpipe_auth_enabled 0`.
    #[arg(long, env = "INSECURE_NO_AUTH", action = ArgAction::SetTrue,
          conflicts_with = "auth_tokens_file")]
    pub insecure_no_auth: bool,
    /// How often the tokens file is checked for changes.
    #[arg(long, env = "AUTH_RELOAD_INTERVAL", default_value = "1s",
          value_parser = parse_positive_duration)]
    pub auth_reload_interval: Duration,
}

/// TLS on a service's port (gRPC, gRPC-Web and HTTP on the same one). Off when no certificate is
/// given: plaintext, for a local playground.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// The server's certificate chain, PEM (its own certificate first). With --tls-key-file it
    /// turns TLS on. [default: none, plaintext]
    #[arg(long, env = "TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of --tls-cert-file, PEM (PKCS#8, PKCS#1 or SEC1). [default: none]
    #[arg(long, env = "TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// CA certificates, PEM: when set, clients must present a certificate signed by one of them
    /// (mTLS, e.g. for devices). Needs --tls-cert-file. [default: none, no client certificates]
    #[arg(long, env = "TLS_CLIENT_CA_FILE")]
    pub tls_client_ca_file: Option<PathBuf>,
}

/// Where PostgreSQL is.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL: `postgres://user:password@host:port/database`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true, hide_default_value = true)]
    database_url: String,
    /// A file holding the PostgreSQL connection URL (one line), instead of `--database-url`:
    /// keeps the password out of the command line and the environment.
    #[arg(long, env = "DATABASE_URL_FILE", value_name = "FILE", conflicts_with = "database_url",
          value_parser = read_database_url)]
    database_url_file: Option<SecretUrl>,
}

impl DatabaseArgs {
    /// The connection URL of `--database-url` or `--database-url-file`.
    pub fn database_url(&self) -> &str {
        match &self.database_url_file {
            Some(SecretUrl(url)) => url,
            None => &self.database_url,
        }
    }

    /// Settings for `url`, as if given with `--database-url`.
    #[cfg(test)]
    fn with_url(url: impl Into<String>) -> Self {
        Self {
            database_url: url.into(),
            database_url_file: None,
        }
    }
}

/// A URL read from a file; its `Debug` hides it whole.
#[derive(Clone)]
struct SecretUrl(String);

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_password(&self.0))
    }
}

/// `--database-url-file`: the file's one line (a trailing newline dropped). Errors name the file,
/// never its content.
fn read_database_url(path: &str) -> Result<SecretUrl, String> {
    read_secret_file(Path::new(path), "database URL").map(SecretUrl)
}

/// Never print the password, not even in a `{:?}` of the whole config.
impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &redact_password(self.database_url()))
            .finish()
    }
}

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`, for logs and errors.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_password() {
        assert_eq!(
            redact_password("postgres://u:p@w@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_password("not a url"), "not a url");
    }

    #[test]
    fn durations_take_a_unit_and_positive_ones_refuse_zero() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        let error = parse_duration("100").unwrap_err();
        assert!(error.contains("`100` is not a duration"), "{error}");
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
        let error = parse_positive_duration("0ms").unwrap_err();
        assert!(error.contains("longer than zero"), "{error}");
    }

    #[test]
    fn database_args_debug_hides_the_password() {
        let args = DatabaseArgs::with_url("postgres://u:secret@h/db");
        assert!(!format!("{args:?}").contains("secret"));
    }

    #[derive(clap::Parser)]
    struct DatabaseOnly {
        #[command(flatten)]
        database: DatabaseArgs,
    }

    fn parse_database(args: &[&str]) -> Result<DatabaseArgs, String> {
        use clap::Parser;
        DatabaseOnly::try_parse_from(["test"].iter().chain(args))
            .map(|parsed| parsed.database)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_database_url_can_come_from_a_file_whose_content_errors_never_show() {
        let dir = std::env::temp_dir().join(format!("dburl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("url");
        let path = file.to_str().unwrap();
        std::fs::write(&file, "postgres://u:hunter2@h/db\n").unwrap();
        // Read straight from the file: parsing `--database-url-file` alone succeeds only where
        // DATABASE_URL is not in the environment (they conflict), which the test run's own
        // environment may hold; the saver's process test runs that with a clean environment.
        let url = read_database_url(path).unwrap();
        assert_eq!(url.0, "postgres://u:hunter2@h/db");
        assert!(!format!("{url:?}").contains("hunter2"));

        let error = parse_database(&[
            "--database-url-file",
            path,
            "--database-url",
            "postgres://x",
        ])
        .unwrap_err();
        assert!(error.contains("cannot be used with"), "{error}");

        for (content, reason) in [
            ("\n", "is empty"),
            ("postgres://u:hunter2@h/db\nhunter2\n", "more than one line"),
        ] {
            std::fs::write(&file, content).unwrap();
            let error = parse_database(&["--database-url-file", path]).unwrap_err();
            assert!(error.contains(path) && error.contains(reason), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        let missing = dir.join("missing");
        let error =
            parse_database(&["--database-url-file", missing.to_str().unwrap()]).unwrap_err();
        assert!(
            error.contains("cannot read the database URL file"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
