//! A Kafka broker of a test's own, which the test may stop and start again.
//!
//! Tests of the ingest path have to show what happens while Kafka is down ("no batch is acked")
//! and after it is back ("resends complete the run, nothing missing"). The shared broker of
//! `scripts/stack start` serves every other test at the same time, so stopping it is not an
//! option. [`PrivateKafka`] runs a second, real broker through the same script
//! (`scripts/stack start kafka`) on two free ports and a throw-away folder. [`PrivateKafka::stop`]
//! and [`PrivateKafka::start_again`] keep the ports and the data folder, so topics and records
//! survive exactly as they do when a real broker restarts.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    START_STACK,
    private_stack::{Component, PrivateStack},
    tools::stack_dir,
};

/// Heap of a private broker: smaller than the default stack's 512m, several may run at once.
const HEAP: &str = "256m";

/// `scripts/stack … kafka` on the ports `[client, controller, SASL_SSL client]`: the script
/// opens all three, and the shared stack's SASL_SSL port must not be taken twice.
static KAFKA: Component<3> = Component {
    owner: "PrivateKafka",
    name: "kafka",
    server: "broker",
    configure,
    kill: kill_broker,
};

/// A real Kafka broker (KRaft, one node) only this test talks to: `127.0.0.1` on two free ports,
/// state in a fresh folder under the system temp dir, jars shared with the default stack
/// (`$STACK_DIR/kafka/lib`, so nothing is downloaded). It has the topics of the default stack
/// (`temperatures` with [`PrivateKafka::PARTITIONS`] partitions, `temperatures.dlq`); a test
/// creates its own with `sensorpipe::kafka::create_topic(&kafka.brokers(), ..)`.
///
/// Dropping it stops the broker and deletes the folder, also when the test panics, so no JVM
/// is left behind. Starting takes a few seconds (a JVM boot); make one per test that needs an
/// outage and use the shared broker ([`fresh_topic`](crate::fresh_topic)) for everything else.
///
/// It derefs to its [`PrivateStack`]: `stop()` is an outage that ends well (SIGTERM, the broker
/// shuts down cleanly; when it returns the port refuses connections); `start_again()` brings it
/// back on the same ports with the same data (cluster id, topics, records, committed offsets);
/// `dir()` holds `kafka/data` and `logs/kafka.log`, worth a look when a test fails.
#[derive(Debug)]
pub struct PrivateKafka {
    stack: PrivateStack<3>,
}

impl PrivateKafka {
    /// Partitions of topic `temperatures` on a private broker (`temperatures.dlq` has 3, as on
    /// the default stack).
    pub const PARTITIONS: u32 = 3;

    /// Starts a broker on free ports and returns when it serves clients and its topics exist.
    ///
    /// Panics with one line naming `scripts/stack start` when the default stack's jar cache is
    /// missing (the private broker reuses it, it never fetches jars itself), and with the
    /// script's output when the broker does not start.
    pub async fn start() -> PrivateKafka {
        let lib = kafka_lib_dir();
        if !has_jars(&lib) {
            panic!(
                "no Kafka jars in {} (PrivateKafka reuses the default stack's cache): run `{START_STACK}` once",
                lib.display()
            );
        }
        PrivateKafka {
            stack: PrivateStack::start(&KAFKA).await,
        }
    }

    /// The bootstrap servers: `127.0.0.1:<port>`. Unchanged by [`stop`](Self::stop) and
    /// [`start_again`](Self::start_again), so clients made before a stop reconnect on their own.
    pub fn brokers(&self) -> String {
        let [port, _controller, _sasl] = self.stack.ports();
        format!("127.0.0.1:{port}")
    }
}

impl std::ops::Deref for PrivateKafka {
    type Target = PrivateStack<3>;

    fn deref(&self) -> &PrivateStack<3> {
        &self.stack
    }
}

/// This broker's settings for `scripts/stack`.
fn configure(process: &mut Command, [port, controller_port, sasl_port]: [u16; 3]) {
    process
        .env("KAFKA_LIB_DIR", kafka_lib_dir())
        // shared cache: a stale one fails with a hint instead of parallel Maven runs rewriting it
        .env("KAFKA_LIB_FETCH", "0")
        .env("KAFKA_PORT", port.to_string())
        .env("KAFKA_CONTROLLER_PORT", controller_port.to_string())
        .env("KAFKA_SASL_PORT", sasl_port.to_string())
        .env("KAFKA_HEAP", HEAP)
        .env("KAFKA_PARTITIONS", PrivateKafka::PARTITIONS.to_string());
}

/// Last resort when `scripts/stack stop` failed in drop: SIGKILL the JVM named by the pid
/// file, if it is still our broker (its command line names our folder).
fn kill_broker(dir: &Path) {
    let Ok(pid) = std::fs::read_to_string(dir.join("kafka/kafka.pid")) else {
        return;
    };
    let pid = pid.trim();
    let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy()))
        .unwrap_or(false);
    if ours {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
}

/// The default stack's jar cache: `$STACK_DIR/kafka/lib`, where `scripts/stack start` keeps it.
fn kafka_lib_dir() -> PathBuf {
    stack_dir().join("kafka/lib")
}

fn has_jars(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.path().extension().is_some_and(|ext| ext == "jar"))
    })
}
