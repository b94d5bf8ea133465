//! A PostgreSQL server of a test's own, which the test may stop and start again.
//!
//! Tests of the saver have to show what happens while PostgreSQL is down ("no offset is committed
//! beyond the stored rows") and after it is back ("no loss, no duplicate"). The shared server of
//! `scripts/stack start` serves every other test at the same time, so stopping it is not an
//! option. [`PrivatePostgres`] runs a second, real server through the same script
//! (`scripts/stack start postgres`) on a free port and a throw-away folder.
//! [`PrivatePostgres::stop`] and [`PrivatePostgres::start_again`] keep the port and the data
//! folder, so rows survive exactly as they do when a real server restarts, and a URL or pool made
//! before the stop points at the server again afterwards.

use std::{
    fs::File,
    io::ErrorKind,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use super::unique_name;

/// The root of the repository: `scripts/stack` is found from it.
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Seconds a stop in [`Drop`] waits for `pg_ctl stop -m fast` before the postmaster gets SIGQUIT
/// (immediate shutdown): the data is thrown away anyway.
const DROP_STOP_TIMEOUT: &str = "10";

/// Attempts at a first start when the picked port was taken by someone else in the meantime.
const PORT_ATTEMPTS: usize = 3;

/// A real PostgreSQL server only this test talks to: the machine's own binaries (as the default
/// stack), `127.0.0.1` on a free port, the cluster in a fresh folder under the system temp dir,
/// with the role `sensorpipe` (password `sensorpipe`, superuser) and the empty database
/// `cloud_db`. The schema is not there yet: apply it with
/// `sensorpipe::db::run_migrations(&pg.database_url())`.
///
/// Why the schema is left to the test: the script's default schema step
/// (`cargo run -p saver -- migrate`) would run cargo from inside `cargo test`, which blocks on the
/// build-directory lock the running `cargo test` holds (or rebuilds the saver with other features),
/// and takes seconds even when it works. The test binary already embeds the same migrations, so
/// the start runs with `SENSORPIPE_MIGRATE=true` (no schema step) and the test migrates in-process.
///
/// Dropping it stops the server and deletes the folder, also when the test panics, so no
/// postmaster is left behind (unless the test process itself is killed: then nothing runs). A
/// first start takes a few seconds (`initdb`); make one per test that needs an outage and use the
/// shared server (`testing::fresh_database`) for everything else.
///
/// As root, `scripts/stack` runs the server as the `postgres` system user, owning the cluster
/// folder, and makes the folders above it traversable (`o+x`) for that user when they are not.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Starts a server on a free port and returns when it accepts connections and the role and
    /// the database `cloud_db` exist (no schema: see the type's docs).
    ///
    /// Panics with the script's output when the server does not start (no PostgreSQL binaries
    /// and no way to install them, no `postgres` system user while root, ...).
    pub async fn start() -> PrivatePostgres {
        let dir = std::env::temp_dir().join(unique_name("sensorpipe-private-postgres"));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        // From here on, Drop cleans up whatever a failed start leaves behind.
        let mut postgres = PrivatePostgres { dir, port: 0 };
        for attempt in 1..=PORT_ATTEMPTS {
            postgres.port = free_port();
            match postgres.script("start").await {
                Ok(()) => return postgres,
                // Another process took the port between our probe and the server's bind (the
                // script's own check or PostgreSQL's "Address already in use"). The port is
                // written into the cluster's config at every start, so the next attempt simply
                // uses a new one with the cluster initdb made.
                Err(output) if attempt < PORT_ATTEMPTS && output.contains("already in use") => {}
                Err(output) => panic!(
                    "PrivatePostgres: `scripts/stack start postgres` failed in {}:\n{output}",
                    postgres.dir.display()
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `postgres://sensorpipe:sensorpipe@127.0.0.1:<port>/cloud_db`. Unchanged by
    /// [`stop`](Self::stop) and [`start_again`](Self::start_again), so a pool made before a stop
    /// reaches the server again once it is back.
    pub fn database_url(&self) -> String {
        format!(
            "postgres://sensorpipe:sensorpipe@127.0.0.1:{}/cloud_db",
            self.port
        )
    }

    /// The server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's folder (`postgres/data`, `logs/postgres.log`, the script's output
    /// `stack-*.out`): worth a look when a test fails. Deleted on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server like an outage that ends well: `pg_ctl stop -m fast`, which ends open
    /// sessions (their next query fails: "terminating connection due to administrator command"),
    /// rolls back open transactions and writes a shutdown checkpoint; committed rows stay. When
    /// this returns the postmaster is gone and the port refuses connections. Idempotent.
    /// Panics with the script's output if the script fails.
    pub async fn stop(&self) {
        if let Err(output) = self.script("stop").await {
            panic!(
                "PrivatePostgres: `scripts/stack stop postgres` failed in {}:\n{output}",
                self.dir.display()
            );
        }
    }

    /// Starts the stopped server again on the same port with the same data; returns when it
    /// accepts connections. Idempotent. Panics with the script's output if it does not come up,
    /// for one because another process took the port while it was stopped (unlikely with an
    /// ephemeral port, but nothing reserves it).
    pub async fn start_again(&self) {
        if let Err(output) = self.script("start").await {
            panic!(
                "PrivatePostgres: `scripts/stack start postgres` (again) failed in {}:\n{output}",
                self.dir.display()
            );
        }
    }

    /// `scripts/stack <command> postgres` off the async runtime: the script blocks (initdb, or
    /// `pg_ctl -w` waiting for the server), which would stall every task on this runtime (a
    /// `#[tokio::test]` has one thread) if run inline.
    async fn script(&self, command: &'static str) -> Result<(), String> {
        let (process, output) = self.command(command);
        tokio::task::spawn_blocking(move || run(process, &output))
            .await
            .unwrap_or_else(|e| {
                panic!("PrivatePostgres: `scripts/stack {command} postgres` task: {e}")
            })
    }

    /// The script with this server's settings. Returns the command and the file its output
    /// (stdout and stderr, interleaved) goes to. A file rather than a pipe: reading a pipe to its
    /// end would also wait for any process that inherited it.
    fn command(&self, command: &str) -> (Command, PathBuf) {
        let mut process = Command::new(Path::new(REPO).join("scripts/stack"));
        process
            .args([command, "postgres"])
            .current_dir(REPO)
            .env("STACK_DIR", &self.dir)
            .env("PG_PORT", self.port.to_string())
            // no `cargo run` from inside `cargo test`: the test migrates in-process (type docs)
            .env("SENSORPIPE_MIGRATE", "true")
            .stdin(Stdio::null());
        (process, self.dir.join(format!("stack-{command}.out")))
    }

    /// Last resort when `scripts/stack stop` failed in drop: an immediate shutdown (SIGQUIT) of
    /// the postmaster named by `postmaster.pid`, if it is still ours (its working directory is our
    /// data folder), and SIGKILL if it is still there after a few seconds.
    fn kill_postmaster(&self) {
        let data = self.dir.join("postgres/data");
        let Ok(pid_file) = std::fs::read_to_string(data.join("postmaster.pid")) else {
            return;
        };
        let Some(pid) = pid_file.lines().next().map(str::trim) else {
            return;
        };
        let ours = || {
            std::fs::canonicalize(format!("/proc/{pid}/cwd"))
                .ok()
                .zip(std::fs::canonicalize(&data).ok())
                .is_some_and(|(cwd, data)| cwd == data)
        };
        if !ours() {
            return;
        }
        let _ = Command::new("kill").args(["-QUIT", pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while ours() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if ours() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

impl Drop for PrivatePostgres {
    /// Stops the server and removes its folder. Blocking, which is fine here: it runs once at the
    /// end of a test (a fast stop takes well under a second), and it must finish before the test
    /// process can exit, or the server would outlive it. Never panics (a panic while unwinding
    /// from a failed test would abort).
    fn drop(&mut self) {
        // Port 0: no start was tried, there is nothing to stop (and the script refuses port 0).
        if self.port == 0 {
            let _ = std::fs::remove_dir_all(&self.dir);
            return;
        }
        let (mut process, output) = self.command("stop");
        process.env("STOP_TIMEOUT", DROP_STOP_TIMEOUT);
        if let Err(output) = run(process, &output) {
            eprintln!(
                "PrivatePostgres: `scripts/stack stop postgres` failed in {}, killing the server:\n{output}",
                self.dir.display()
            );
            self.kill_postmaster();
        }
        match std::fs::remove_dir_all(&self.dir) {
            Err(error) if error.kind() != ErrorKind::NotFound => {
                eprintln!(
                    "PrivatePostgres: cannot remove {}: {error}",
                    self.dir.display()
                );
            }
            _ => {}
        }
    }
}

/// A port nobody listens on right now: bind port 0, read what the kernel picked, let go. Someone
/// may take it before the server binds it; [`PrivatePostgres::start`] retries then.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("PrivatePostgres: cannot bind a port on 127.0.0.1: {e}"))
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
