//! What `PrivateKafka` and `PrivatePostgres` share: one component of `scripts/stack` run with a
//! `STACK_DIR` of a test's own (a throw-away folder) on free ports, started, stopped and started
//! again through the script, and stopped and deleted on drop. The two types add only what is
//! their own: a [`Component`] (the script's settings for it, and a last-resort kill) and their
//! accessors.

use std::{
    fs::File,
    io::ErrorKind,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use crate::{free_ports, repo_root, unique_name};

/// Seconds a stop in [`Drop`] waits before the script forces it (Kafka: SIGKILL; PostgreSQL:
/// SIGQUIT, an immediate shutdown, after `pg_ctl stop -m fast`): the data is thrown away anyway.
const DROP_STOP_TIMEOUT: &str = "10";

/// Attempts at a first start when a picked port was taken by someone else in the meantime.
const PORT_ATTEMPTS: usize = 3;

/// What differs between the components: names for the script and for messages, the script's
/// settings, and what [`Drop`] does when the script cannot stop the component.
#[derive(Debug)]
pub struct Component<const PORTS: usize> {
    /// The type named in messages: `PrivateKafka`.
    pub owner: &'static str,
    /// The script's component: `kafka`.
    pub name: &'static str,
    /// What runs, named in messages: `broker`.
    pub server: &'static str,
    /// Adds the component's settings (its ports among them) to the script's command.
    pub configure: fn(&mut Command, [u16; PORTS]),
    /// Last resort when `scripts/stack stop` failed in drop, given the folder.
    pub kill: fn(&Path),
}

/// One component of `scripts/stack` with its own folder under the system temp dir and its own
/// ports on `127.0.0.1`. Both stay the same across [`stop`](Self::stop) and
/// [`start_again`](Self::start_again), so the data survives as it does when a real server
/// restarts and clients made before a stop reach it again afterwards.
///
/// Dropping it stops the component and deletes the folder, also when the test panics.
#[derive(Debug)]
pub struct PrivateStack<const PORTS: usize> {
    component: &'static Component<PORTS>,
    dir: PathBuf,
    /// All 0 until the first start picks them.
    ports: [u16; PORTS],
}

impl<const PORTS: usize> PrivateStack<PORTS> {
    /// Makes the folder, then runs `scripts/stack start <component>` on free ports; returns when
    /// the script does (the component is ready). Panics with the script's output when it fails.
    pub async fn start(component: &'static Component<PORTS>) -> Self {
        let dir = std::env::temp_dir().join(unique_name(&format!(
            "sensorpipe-private-{}",
            component.name
        )));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        // From here on, Drop cleans up whatever a failed start leaves behind.
        let mut stack = PrivateStack {
            component,
            dir,
            ports: [0; PORTS],
        };
        for attempt in 1..=PORT_ATTEMPTS {
            stack.ports = free_ports();
            match stack.script("start").await {
                Ok(()) => return stack,
                // Another process took a port between our probe and the component's bind (the
                // script's own check, or the server's "Address already in use"). The script
                // writes the ports into the component's config at every start (PostgreSQL's next
                // to the cluster initdb made), so the next attempt simply uses new ones.
                Err(output) if attempt < PORT_ATTEMPTS && output.contains("already in use") => {}
                Err(output) => stack.fail("start", "", &output),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The component's folder: `STACK_DIR` of the script. Deleted on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ports picked at the first start, in the order [`Component::configure`] gets them.
    pub fn ports(&self) -> [u16; PORTS] {
        self.ports
    }

    /// `scripts/stack stop <component>`; panics with the script's output if it fails.
    pub async fn stop(&self) {
        if let Err(output) = self.script("stop").await {
            self.fail("stop", "", &output);
        }
    }

    /// `scripts/stack start <component>` on the same ports with the same data; panics with the
    /// script's output if it fails.
    pub async fn start_again(&self) {
        if let Err(output) = self.script("start").await {
            self.fail("start", " (again)", &output);
        }
    }

    fn fail(&self, command: &str, again: &str, output: &str) -> ! {
        panic!(
            "{}: `scripts/stack {command} {}`{again} failed in {}:\n{output}",
            self.component.owner,
            self.component.name,
            self.dir.display()
        )
    }

    /// `scripts/stack <command> <component>` off the async runtime: the script blocks for seconds
    /// (Kafka: it waits for readiness or for the JVM to exit; PostgreSQL: initdb, or `pg_ctl -w`
    /// waiting for the server), which would stall every task on this runtime (a `#[tokio::test]`
    /// has one thread) if run inline.
    async fn script(&self, command: &'static str) -> Result<(), String> {
        let (process, output) = self.command(command);
        tokio::task::spawn_blocking(move || run(process, &output))
            .await
            .unwrap_or_else(|e| {
                let Component { owner, name, .. } = self.component;
                panic!("{owner}: `scripts/stack {command} {name}` task: {e}")
            })
    }

    /// The script with this component's settings. Returns the command and the file its output
    /// (stdout and stderr, interleaved) goes to. A file rather than a pipe: reading a pipe to its
    /// end would also wait for any process that inherited it.
    fn command(&self, command: &str) -> (Command, PathBuf) {
        let mut process = Command::new(repo_root().join("scripts/stack"));
        process
            .args([command, self.component.name])
            .current_dir(repo_root())
            .env("STACK_DIR", &self.dir)
            .stdin(Stdio::null());
        (self.component.configure)(&mut process, self.ports);
        (process, self.dir.join(format!("stack-{command}.out")))
    }
}

impl<const PORTS: usize> Drop for PrivateStack<PORTS> {
    /// Stops the component and removes its folder. Blocking, which is fine here: it runs once at
    /// the end of a test (a PostgreSQL fast stop takes well under a second), and it must finish
    /// before the test process can exit, or the component (a JVM, a postmaster) would outlive it.
    /// Never panics (a panic while unwinding from a failed test would abort).
    fn drop(&mut self) {
        let Component {
            owner,
            name,
            server,
            ..
        } = self.component;
        // Ports 0: no start was tried, there is nothing to stop (and the script refuses port 0).
        if self.ports.contains(&0) {
            let _ = std::fs::remove_dir_all(&self.dir);
            return;
        }
        let (mut process, output) = self.command("stop");
        process.env("STOP_TIMEOUT", DROP_STOP_TIMEOUT);
        if let Err(output) = run(process, &output) {
            eprintln!(
                "{owner}: `scripts/stack stop {name}` failed in {}, killing the {server}:\n{output}",
                self.dir.display()
            );
            (self.component.kill)(&self.dir);
        }
        match std::fs::remove_dir_all(&self.dir) {
            Err(error) if error.kind() != ErrorKind::NotFound => {
                eprintln!("{owner}: cannot remove {}: {error}", self.dir.display());
            }
            _ => {}
        }
    }
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
