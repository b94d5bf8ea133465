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
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use crate::private_stack::{Component, PrivateStack};

/// `scripts/stack … postgres` on the port `[port]`.
static POSTGRES: Component<1> = Component {
    owner: "PrivatePostgres",
    name: "postgres",
    server: "server",
    configure,
    kill: kill_postmaster,
};

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
/// shared server ([`fresh_database`](crate::fresh_database)) for everything else.
///
/// As root, `scripts/stack` runs the server as the `postgres` system user, owning the cluster
/// folder, and makes the folders above it traversable (`o+x`) for that user when they are not.
///
/// It derefs to its [`PrivateStack`]: `stop()` is an outage that ends well (`pg_ctl stop -m
/// fast`: open sessions end, their next query failing with "terminating connection due to
/// administrator command", open transactions roll back, committed rows stay); `start_again()`
/// brings it back on the same port with the same data; `dir()` holds `postgres/data` and
/// `logs/postgres.log`, worth a look when a test fails.
#[derive(Debug)]
pub struct PrivatePostgres {
    stack: PrivateStack<1>,
}

impl PrivatePostgres {
    /// Starts a server on a free port and returns when it accepts connections and the role and
    /// the database `cloud_db` exist (no schema: see the type's docs).
    ///
    /// Panics with the script's output when the server does not start (no PostgreSQL binaries
    /// and no way to install them, no `postgres` system user while root, ...).
    pub async fn start() -> PrivatePostgres {
        PrivatePostgres {
            stack: PrivateStack::start(&POSTGRES).await,
        }
    }

    /// `postgres://sensorpipe:sensorpipe@127.0.0.1:<port>/cloud_db`. Unchanged by
    /// [`stop`](Self::stop) and [`start_again`](Self::start_again), so a pool made before a stop
    /// reaches the server again once it is back.
    pub fn database_url(&self) -> String {
        format!(
            "postgres://sensorpipe:sensorpipe@127.0.0.1:{}/cloud_db",
            self.port()
        )
    }

    /// The server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        let [port] = self.stack.ports();
        port
    }
}

impl std::ops::Deref for PrivatePostgres {
    type Target = PrivateStack<1>;

    fn deref(&self) -> &PrivateStack<1> {
        &self.stack
    }
}

/// This server's settings for `scripts/stack`.
fn configure(process: &mut Command, [port]: [u16; 1]) {
    process
        .env("PG_PORT", port.to_string())
        // no `cargo run` from inside `cargo test`: the test migrates in-process (type docs)
        .env("SENSORPIPE_MIGRATE", "true");
}

/// Last resort when `scripts/stack stop` failed in drop: an immediate shutdown (SIGQUIT) of
/// the postmaster named by `postmaster.pid`, if it is still ours (its working directory is our
/// data folder), and SIGKILL if it is still there after a few seconds.
fn kill_postmaster(dir: &Path) {
    let data = dir.join("postgres/data");
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
