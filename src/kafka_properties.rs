//! `--kafka-config-file`: librdkafka client settings (TLS, SASL/SCRAM, timeouts, ...) that every
//! Kafka client of a service gets, from a file so that a password stays out of command lines,
//! environment listings and `--help`.
//!
//! The file is a Java-style properties file as librdkafka's own tools read it: `key=value` per
//! line, `#` starts a comment line, blank lines are ignored, spaces around keys and values are
//! dropped. A value may be a password: no error, log line or `{:?}` ever shows one.

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
};

/// The parsed file: its path (for messages) and its settings in file order.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaProperties {
    path: PathBuf,
    entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    line: usize,
}

/// Keys the file may not set, and who owns each: the producer's and the consumer's settings that
/// the exactly-once promises rest on, and what sensorpipe sets from its own flags (a file value
/// would be overridden without a word, or would override the flag).
const REFUSED: &[(&str, &str)] = &[
    (
        "bootstrap.servers",
        "--kafka-brokers (KAFKA_BROKERS) sets it",
    ),
    (
        "metadata.broker.list",
        "--kafka-brokers (KAFKA_BROKERS) sets it",
    ),
    (
        "enable.idempotence",
        "the producer is always idempotent (no duplicates on retry)",
    ),
    (
        "acks",
        "the producer always waits for every in-sync replica (acks=all)",
    ),
    (
        "request.required.acks",
        "the producer always waits for every in-sync replica (acks=all)",
    ),
    (
        "transactional.id",
        "sensorpipe's producers are not transactional",
    ),
    (
        "enable.auto.commit",
        "the saver commits offsets itself, only after storing the rows",
    ),
    (
        "auto.commit.enable",
        "the saver commits offsets itself, only after storing the rows",
    ),
    (
        "enable.auto.offset.store",
        "the saver commits offsets itself, only after storing the rows",
    ),
    (
        "auto.offset.reset",
        "a new saver group starts at the earliest record, so none is skipped",
    ),
    ("isolation.level", "the saver reads committed records only"),
    (
        "group.id",
        "the saver's --group-id (SAVER_GROUP_ID) sets it",
    ),
    (
        "group.instance.id",
        "the saver's --instance-id (SAVER_INSTANCE_ID) sets it",
    ),
    (
        "group.protocol",
        "the saver's static membership and session timeout need the classic protocol",
    ),
    (
        "session.timeout.ms",
        "the saver's --session-timeout (SAVER_SESSION_TIMEOUT) sets it",
    ),
    (
        "heartbeat.interval.ms",
        "the saver's --session-timeout (SAVER_SESSION_TIMEOUT) sets it",
    ),
    ("message.timeout.ms", "ingest's --delivery-timeout sets it"),
    ("delivery.timeout.ms", "ingest's --delivery-timeout sets it"),
    ("linger.ms", "ingest's --kafka-linger sets it"),
    ("queue.buffering.max.ms", "ingest's --kafka-linger sets it"),
    (
        "queue.buffering.max.messages",
        "ingest's --max-in-flight-readings sets it",
    ),
    (
        "statistics.interval.ms",
        "the saver's lag gauge depends on it",
    ),
    (
        "compression.type",
        "sensorpipe's producers compress with lz4",
    ),
    (
        "compression.codec",
        "sensorpipe's producers compress with lz4",
    ),
    (
        "reconnect.backoff.max.ms",
        "sensorpipe keeps it at 1 s, so a restarted broker is seen soon",
    ),
    (
        "queued.min.messages",
        "the saver bounds its prefetch (memory) with it",
    ),
    (
        "queued.max.messages.kbytes",
        "the saver bounds its prefetch (memory) with it",
    ),
    (
        "fetch.max.bytes",
        "the saver bounds its prefetch (memory) with it",
    ),
    (
        "fetch.message.max.bytes",
        "the saver bounds its prefetch (memory) with it",
    ),
    (
        "max.partition.fetch.bytes",
        "the saver bounds its prefetch (memory) with it",
    ),
];

/// What is wrong with the file; the message names the file and the line, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Kafka config file {}{}: {reason}", path.display(), line.map(|n| format!(" line {n}")).unwrap_or_default())]
pub struct PropertiesError {
    path: PathBuf,
    line: Option<usize>,
    reason: String,
}

impl KafkaProperties {
    /// Reads and checks the file at `path`: its syntax, refused keys and, when the Kafka client is
    /// built in, each setting against librdkafka, so a misspelt key fails at start-up.
    pub fn load(path: &Path) -> Result<Self, PropertiesError> {
        let text = std::fs::read_to_string(path).map_err(|error| PropertiesError {
            path: path.to_owned(),
            line: None,
            reason: format!("cannot read it: {error}"),
        })?;
        let properties = Self::parse(path, &text)?;
        #[cfg(feature = "kafka")]
        properties.check_with_librdkafka()?;
        Ok(properties)
    }

    /// [`load`](Self::load) for clap's `value_parser`.
    pub fn from_arg(path: &str) -> Result<Self, PropertiesError> {
        Self::load(Path::new(path))
    }

    /// The settings of `text`, read from `path` (for messages).
    pub fn parse(path: &Path, text: &str) -> Result<Self, PropertiesError> {
        let error = |line, reason: String| PropertiesError {
            path: path.to_owned(),
            line: Some(line),
            reason,
        };
        let mut entries = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            // The line itself is never quoted: without its `=` it may be a bare password.
            let Some((key, value)) = trimmed.split_once('=') else {
                return Err(error(line, "expected `key=value`".into()));
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() {
                return Err(error(line, "no key before `=`".into()));
            }
            if !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(error(
                    line,
                    "a key is made of letters, digits, `.`, `_` and `-`".into(),
                ));
            }
            if let Some((_, why)) = REFUSED.iter().find(|(refused, _)| *refused == key) {
                return Err(error(line, format!("`{key}` cannot be set here: {why}")));
            }
            if let Some(first) = seen.insert(key.to_owned(), line) {
                return Err(error(
                    line,
                    format!("`{key}` is set twice (first on line {first})"),
                ));
            }
            entries.push(Entry {
                key: key.to_owned(),
                value: value.to_owned(),
                line,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }

    /// The settings as `(key, value)`, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|entry| (entry.key.as_str(), entry.value.as_str()))
    }

    /// The values, for tests that check a log or an error holds none of them.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| entry.value.as_str())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// librdkafka's verdict on each setting alone (an unknown key, a value of the wrong type or
    /// one this build does not support, such as SASL_SSL without OpenSSL). Its messages quote the
    /// value, so the value is cut out of them.
    #[cfg(feature = "kafka")]
    fn check_with_librdkafka(&self) -> Result<(), PropertiesError> {
        use rdkafka::{ClientConfig, error::KafkaError};

        for entry in &self.entries {
            let result = ClientConfig::new()
                .set(&entry.key, &entry.value)
                .create_native_config();
            let reason = match result {
                Ok(_) => continue,
                Err(KafkaError::ClientConfig(_, description, _, _)) => description,
                Err(_) => "librdkafka refused it".to_owned(),
            };
            let reason = if entry.value.is_empty() {
                reason
            } else {
                reason.replace(&entry.value, "***")
            };
            return Err(PropertiesError {
                path: self.path.clone(),
                line: Some(entry.line),
                reason: format!("`{}`: {reason}", entry.key),
            });
        }
        Ok(())
    }
}

/// The path and the keys, never the values.
impl fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaProperties")
            .field("path", &self.path)
            .field(
                "keys",
                &self.entries.iter().map(|e| &e.key).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KafkaProperties, PropertiesError> {
        KafkaProperties::parse(Path::new("/etc/k.properties"), text)
    }

    #[test]
    fn reads_settings_and_skips_comments_and_blank_lines() {
        let properties = parse(
            "# SASL over TLS\n\nsecurity.protocol = SASL_SSL\n  # indented comment\n\
             sasl.password=a=b#c \nssl.ca.location=/tls/ca.pem\n",
        )
        .unwrap();
        let settings: Vec<_> = properties.iter().collect();
        assert_eq!(
            settings,
            [
                ("security.protocol", "SASL_SSL"),
                ("sasl.password", "a=b#c"),
                ("ssl.ca.location", "/tls/ca.pem"),
            ]
        );
        assert!(parse("").unwrap().iter().next().is_none());
    }

    #[test]
    fn refuses_the_keys_sensorpipe_owns_naming_the_key_and_the_line() {
        for key in [
            "bootstrap.servers",
            "enable.idempotence",
            "acks",
            "enable.auto.commit",
            "isolation.level",
            "group.id",
        ] {
            let error = parse(&format!("# c\n{key}=x\n")).unwrap_err().to_string();
            assert!(
                error.starts_with("Kafka config file /etc/k.properties line 2: "),
                "{error}"
            );
            assert!(
                error.contains(&format!("`{key}` cannot be set here")),
                "{error}"
            );
        }
    }

    #[test]
    fn bad_lines_name_the_line_but_never_its_content() {
        for (text, line, reason) in [
            (
                "sasl.username=u\nhunter2secret\n",
                2,
                "expected `key=value`",
            ),
            ("=hunter2secret\n", 1, "no key before `=`"),
            ("sasl password=hunter2secret\n", 1, "letters, digits"),
            (
                "sasl.password=hunter2secret\nsasl.password=hunter2secret\n",
                2,
                "set twice (first on line 1)",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(&format!(" line {line}: ")), "{error}");
            assert!(error.contains(reason), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn debug_shows_keys_but_no_values() {
        let properties = parse("sasl.username=sensor\nsasl.password=hunter2secret\n").unwrap();
        let debug = format!("{properties:?}");
        assert!(debug.contains("sasl.password"), "{debug}");
        assert!(
            !debug.contains("hunter2secret") && !debug.contains("sensor\""),
            "{debug}"
        );
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let error = KafkaProperties::load(Path::new("/nonexistent/k.properties")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("Kafka config file /nonexistent/k.properties: cannot read it"),
            "{error}"
        );
    }

    #[cfg(feature = "kafka")]
    #[test]
    fn librdkafka_checks_each_setting_and_its_message_hides_the_value() {
        let dir = std::env::temp_dir().join(format!("kprops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("k.properties");
        for (text, expected) in [
            ("sasl.pasword=hunter2secret\n", "`sasl.pasword`"),
            ("socket.timeout.ms=hunter2secret\n", "`socket.timeout.ms`"),
        ] {
            std::fs::write(&file, text).unwrap();
            let error = KafkaProperties::load(&file).unwrap_err().to_string();
            assert!(
                error.contains(" line 1: ") && error.contains(expected),
                "{error}"
            );
            assert!(!error.contains("hunter2"), "{error}");
        }
        std::fs::write(
            &file,
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n",
        )
        .unwrap();
        KafkaProperties::load(&file).expect("this build supports SASL_SSL and SCRAM");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
