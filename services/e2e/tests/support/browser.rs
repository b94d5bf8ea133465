//! One browser scenario of `web/tests/` (sensors, live, table, cors, auth, auth-cors) run by node
//! in headless chromium, spoken to in the protocol `web/tests/driver.mjs` describes: the input as
//! one JSON argument, JSON-lines events on stdout, JSON-lines messages on stdin (the auth
//! scenarios' tokens among them), progress on stderr, exit 0 when every assertion of the scenario
//! held.

use std::{
    io::ErrorKind,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use testkit::{TempDir, repo_root, tls::TestCa, tools::SETUP_COMMAND};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
};

/// Longer than the scenario's own limit (driver.mjs: 120 s), so its message is what a hang shows.
const EVENT_DEADLINE: Duration = Duration::from_secs(150);
/// How much of the scenario's stderr a failure shows.
const LOG_TAIL_LINES: usize = 40;

/// A running scenario; node (and with it chromium) is killed when this is dropped.
pub struct Scenario {
    name: String,
    child: Child,
    /// node's and chromium's TMPDIR (the browser profile, downloads): gone with the scenario even
    /// when node was killed before it could clean up.
    _scratch: TempDir,
    stdin: Option<ChildStdin>,
    events: Lines<BufReader<ChildStdout>>,
    /// Its stderr so far: the page's console and the scenario's progress.
    log: Arc<Mutex<Vec<String>>>,
}

impl Scenario {
    /// Runs `web/tests/<script>.mjs` on `input`, adding the paths of its screenshots (laptop and
    /// phone size): `<screenshot dir>/<shot>.png` and `<shot>-phone.png`. Panics with one line
    /// naming `scripts/dev setup` when node, chromium, the npm packages or web/dist are missing.
    pub fn start(script: &str, shot: &str, input: Value) -> Self {
        Self::start_trusting(script, shot, input, None)
    }

    /// [`start`](Self::start) for pages served over TLS with `ca`'s server certificate: chromium
    /// accepts that certificate (driver.mjs pins its key) and node trusts `ca` for its own
    /// requests, as a person who imported the CA would.
    pub fn start_trusting(script: &str, shot: &str, mut input: Value, ca: Option<&TestCa>) -> Self {
        require_setup();
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", shots.display()));
        let path = |suffix: &str| {
            shots
                .join(format!("{shot}{suffix}.png"))
                .display()
                .to_string()
        };
        input["screenshot"] = path("").into();
        input["phone_screenshot"] = path("-phone").into();

        let web = repo_root().join("web");
        let scratch = TempDir::new("browser");
        let mut node = Command::new("node");
        if let Some(ca) = ca {
            input["trusted_certificates"] = vec![ca.server.cert.display().to_string()].into();
            node.env("NODE_EXTRA_CA_CERTS", &ca.ca_file);
        }
        let mut child = node
            .arg(web.join("tests").join(format!("{script}.mjs")))
            .arg(input.to_string())
            .current_dir(&web)
            .env("TMPDIR", scratch.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| match e.kind() {
                ErrorKind::NotFound => {
                    panic!("node not found on PATH: install Node.js 20, then run `{SETUP_COMMAND}`")
                }
                _ => panic!("cannot run node: {e}"),
            });
        let name = format!("{shot} ({script}.mjs)");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let (prefix, lines) = (shot.to_owned(), Arc::clone(&log));
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                eprintln!("[{prefix}] {line}");
                lines.lock().unwrap().push(line);
            }
        });
        Self {
            name,
            stdin: child.stdin.take(),
            events: BufReader::new(child.stdout.take().expect("piped stdout")).lines(),
            child,
            _scratch: scratch,
            log,
        }
    }

    /// Waits for the next event and panics unless it is `event` (`ready`, `seen`, ...): a
    /// `failed` event, an exit or a hang panics with the scenario's message and its log.
    pub async fn expect(&mut self, event: &str) -> Value {
        let line = tokio::time::timeout(EVENT_DEADLINE, self.events.next_line()).await;
        let line = match line {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                let status = self.exit_status().await;
                self.fail(&format!("exited ({status}) before {event:?}"))
            }
            Ok(Err(e)) => self.fail(&format!("unreadable stdout ({e}) before {event:?}")),
            Err(_) => self.fail(&format!("no {event:?} within {EVENT_DEADLINE:?}")),
        };
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| self.fail(&format!("not a JSON event ({e}): {line}")));
        match message["event"].as_str() {
            Some(got) if got == event => message,
            Some("failed") => self.fail(&format!("failed: {}", message["message"])),
            _ => self.fail(&format!("sent {line} where {event:?} was expected")),
        }
    }

    /// Writes one JSON line to the scenario's stdin.
    pub async fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        let line = format!("{message}\n");
        if let Err(e) = stdin.write_all(line.as_bytes()).await {
            self.fail(&format!("cannot take {message} ({e})"));
        }
    }

    /// Closes stdin and waits for the exit; panics unless it is 0, with the scenario's message
    /// (its `failed` event) and log.
    pub async fn finish(mut self) {
        drop(self.stdin.take());
        let mut failure = None;
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(EVENT_DEADLINE, self.events.next_line()).await
        {
            match serde_json::from_str::<Value>(&line) {
                Ok(event) if event["event"] == "failed" => failure = Some(event["message"].clone()),
                _ => failure = failure.or(Some(format!("unexpected event {line}").into())),
            }
        }
        let status = self.exit_status().await;
        if !status.success() || failure.is_some() {
            let message = failure.map_or_else(String::new, |m| format!(": {m}"));
            self.fail(&format!("exited ({status}){message}"));
        }
    }

    async fn exit_status(&mut self) -> ExitStatus {
        tokio::time::timeout(EVENT_DEADLINE, self.child.wait())
            .await
            .unwrap_or_else(|_| self.fail("has not exited"))
            .expect("wait for node")
    }

    fn fail(&self, what: &str) -> ! {
        // Copied out first: panicking with the lock held would poison it for the stderr reader.
        let tail = {
            let log = self
                .log
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            log[log.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        };
        panic!(
            "scenario {} {what}\n--- its stderr (last lines):\n{tail}",
            self.name
        )
    }
}

/// `<repo>/target/dashboard-screenshots`, where `scripts/dev screenshot` takes the README's from.
pub fn screenshot_dir() -> PathBuf {
    repo_root().join("target/dashboard-screenshots")
}

/// What every scenario needs before node starts, each missing piece as one line naming setup.
fn require_setup() {
    let web = repo_root().join("web");
    assert!(
        web.join("dist/index.html").is_file(),
        "web/dist is missing (the dashboard is not built): run `{SETUP_COMMAND}`"
    );
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "web/node_modules is missing (the browser tests' npm packages): run `{SETUP_COMMAND}`"
    );
    // driver.mjs's default; CHROMIUM points it elsewhere.
    let chromium =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        chromium.is_file(),
        "chromium not found at {} (the browser tests' headless browser): run `{SETUP_COMMAND}`",
        chromium.display()
    );
}
