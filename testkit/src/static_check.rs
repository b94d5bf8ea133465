//! Runs the Python checks of `stack/checks/` (Envoy's API schema, the Compose schema) on a file,
//! and on broken copies of it, so each check is shown to bite.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

use crate::repo_root;

/// The command that creates the venv the checks run in.
const SETUP_COMMAND: &str = "scripts/dev setup";

/// What a check printed and how it exited.
#[derive(Debug)]
pub struct Verdict {
    pub ok: bool,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

fn venv_python() -> PathBuf {
    let python = repo_root().join(".stack/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `{SETUP_COMMAND}` to create the venv of the static checks",
        python.display()
    );
    python
}

/// Runs `stack/checks/<script>` on `file` (relative to the repo root, or absolute).
pub fn run(script: &str, file: &Path) -> Verdict {
    let root = repo_root();
    let output = Command::new(venv_python())
        .arg(root.join("stack/checks").join(script))
        .arg(file)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run stack/checks/{script}: {e}"));
    Verdict {
        ok: output.status.success(),
        exit_code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    }
}

/// Writes `<repo>/<file>` with `from` replaced by `to` into a temp dir, runs `script` on it and
/// returns the verdict. Panics if `from` no longer occurs, so a broken-file test cannot go stale silently.
pub fn run_on_broken_copy(script: &str, file: &str, from: &str, to: &str) -> Verdict {
    let root = repo_root();
    let original =
        fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
    assert!(
        original.contains(from),
        "{from:?} no longer occurs in {file}; update this test to the new file"
    );
    let dir = TempDir::new();
    let path = dir.0.join(file);
    fs::write(&path, original.replacen(from, to, 1)).expect("write the broken copy");
    run(script, &path)
}

/// A fresh directory under the system temp dir, removed again when dropped (also on panic).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sensorpipe-check-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
