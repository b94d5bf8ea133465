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
    fs::File,
    io::ErrorKind,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use super::{START_STACK, unique_name};

/// The root of the repository: `scripts/stack` and the default stack's jar cache are found from it.
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Heap of a private broker: smaller than the default stack's 512m, several may run at once.
const HEAP: &str = "256m";

/// Seconds a stop in [`Drop`] waits before SIGKILL: the data is thrown away anyway.
const DROP_STOP_TIMEOUT: &str = "10";

/// Attempts at a first start when a picked port was taken by someone else in the meantime.
const PORT_ATTEMPTS: usize = 3;

/// A real Kafka broker (KRaft, one node) only this test talks to: `127.0.0.1` on two free ports,
/// state in a fresh folder under the system temp dir, jars shared with the default stack
/// (`<repo>/.stack/kafka/lib`, so nothing is downloaded). It has the topics of the default stack
/// (`temperatures` with [`PrivateKafka::PARTITIONS`] partitions, `temperatures.dlq`); a test
/// creates its own with `sensorpipe::kafka::create_topic(&kafka.brokers(), ..)`.
///
/// Dropping it stops the broker and deletes the folder, also when the test panics, so no JVM
/// is left behind. Starting takes a few seconds (a JVM boot); make one per test that needs an
/// outage and use the shared broker (`testing::fresh_topic`) for everything else.
#[derive(Debug)]
pub struct PrivateKafka {
    dir: PathBuf,
    port: u16,
    controller_port: u16,
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
        let dir = std::env::temp_dir().join(unique_name("sensorpipe-private-kafka"));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        // From here on, Drop cleans up whatever a failed start leaves behind.
        let mut kafka = PrivateKafka {
            dir,
            port: 0,
            controller_port: 0,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            (kafka.port, kafka.controller_port) = two_free_ports();
            match kafka.script("start").await {
                Ok(()) => return kafka,
                // Another process took a port between our probe and the broker's bind: the
                // folder holds no port, so the next attempt simply uses new ones.
                Err(output) if attempt < PORT_ATTEMPTS && output.contains("already in use") => {}
                Err(output) => panic!(
                    "PrivateKafka: `scripts/stack start kafka` failed in {}:\n{output}",
                    kafka.dir.display()
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The bootstrap servers: `127.0.0.1:<port>`. Unchanged by [`stop`](Self::stop) and
    /// [`start_again`](Self::start_again), so clients made before a stop reconnect on their own.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's folder (`kafka/data`, `logs/kafka.log`, the script's output `stack-*.out`):
    /// worth a look when a test fails. Deleted on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the broker like an outage that ends well: SIGTERM, the broker shuts down cleanly.
    /// When this returns the process is gone and the port refuses connections. Idempotent.
    /// Panics with the script's output if the script fails.
    pub async fn stop(&self) {
        if let Err(output) = self.script("stop").await {
            panic!(
                "PrivateKafka: `scripts/stack stop kafka` failed in {}:\n{output}",
                self.dir.display()
            );
        }
    }

    /// Starts the stopped broker again on the same ports with the same data (cluster id, topics,
    /// records, committed offsets); returns when it serves clients. Idempotent.
    /// Panics with the script's output if it does not come up.
    pub async fn start_again(&self) {
        if let Err(output) = self.script("start").await {
            panic!(
                "PrivateKafka: `scripts/stack start kafka` (again) failed in {}:\n{output}",
                self.dir.display()
            );
        }
    }

    /// `scripts/stack <command> kafka` off the async runtime: the script blocks for seconds
    /// (it waits for readiness or for the JVM to exit), which would stall every task on this
    /// runtime (a `#[tokio::test]` has one thread) if run inline.
    async fn script(&self, command: &'static str) -> Result<(), String> {
        let (process, output) = self.command(command);
        tokio::task::spawn_blocking(move || run(process, &output))
            .await
            .unwrap_or_else(|e| panic!("PrivateKafka: `scripts/stack {command} kafka` task: {e}"))
    }

    /// The script with this broker's settings. Returns the command and the file its output
    /// (stdout and stderr, interleaved) goes to. A file rather than a pipe: reading a pipe to
    /// its end would also wait for any process that inherited it.
    fn command(&self, command: &str) -> (Command, PathBuf) {
        let mut process = Command::new(Path::new(REPO).join("scripts/stack"));
        process
            .args([command, "kafka"])
            .current_dir(REPO)
            .env("STACK_DIR", &self.dir)
            .env("KAFKA_LIB_DIR", kafka_lib_dir())
            // shared cache: a stale one fails with a hint instead of parallel Maven runs rewriting it
            .env("KAFKA_LIB_FETCH", "0")
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_CONTROLLER_PORT", self.controller_port.to_string())
            .env("KAFKA_HEAP", HEAP)
            .env("KAFKA_PARTITIONS", Self::PARTITIONS.to_string())
            .stdin(Stdio::null());
        (process, self.dir.join(format!("stack-{command}.out")))
    }

    /// Last resort when `scripts/stack stop` failed in drop: SIGKILL the JVM named by the pid
    /// file, if it is still our broker (its command line names our folder).
    fn kill_broker(&self) {
        let Ok(pid) = std::fs::read_to_string(self.dir.join("kafka/kafka.pid")) else {
            return;
        };
        let pid = pid.trim();
        let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(&*self.dir.to_string_lossy()))
            .unwrap_or(false);
        if ours {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

impl Drop for PrivateKafka {
    /// Stops the broker and removes its folder. Blocking, which is fine here: it runs once at the
    /// end of a test, and it must finish before the test process can exit, or the JVM would
    /// outlive it. Never panics (a panic while unwinding from a failed test would abort).
    fn drop(&mut self) {
        let (mut process, output) = self.command("stop");
        process.env("STOP_TIMEOUT", DROP_STOP_TIMEOUT);
        if let Err(output) = run(process, &output) {
            eprintln!(
                "PrivateKafka: `scripts/stack stop kafka` failed in {}, killing the broker:\n{output}",
                self.dir.display()
            );
            self.kill_broker();
        }
        match std::fs::remove_dir_all(&self.dir) {
            Err(error) if error.kind() != ErrorKind::NotFound => {
                eprintln!(
                    "PrivateKafka: cannot remove {}: {error}",
                    self.dir.display()
                );
            }
            _ => {}
        }
    }
}

/// The default stack's jar cache: `<repo>/.stack/kafka/lib`.
fn kafka_lib_dir() -> PathBuf {
    Path::new(REPO).join(".stack/kafka/lib")
}

fn has_jars(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.path().extension().is_some_and(|ext| ext == "jar"))
    })
}

/// Two distinct ports nobody listens on right now: bind port 0 (both at once, so they differ),
/// read what the kernel picked, let go. Someone may take one before the broker binds it;
/// [`PrivateKafka::start`] retries then.
fn two_free_ports() -> (u16, u16) {
    let bind = || {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
            .unwrap_or_else(|e| panic!("PrivateKafka: cannot bind a port on 127.0.0.1: {e}"))
    };
    let ((client, _a), (controller, _b)) = (bind(), bind());
    (client, controller)
}

/// Runs the script to its end; `Err` holds its output (and exit status) when it fails.
fn run(mut process: Command, output: &Path) -> Result<(), String> {
    let result = File::create(output)
        .and_then(|file| Ok((file.try_clone()?, file)))
        .and_then(|(stdout, stderr)| process.stdout(stdout).stderr(stderr).status());
    match result {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!(
            "{}({status})",
            std::fs::read_to_string(output).unwrap_or_default()
        )),
        Err(error) => Err(format!("cannot run {process:?}: {error}")),
    }
}
