//! Runs the Python checks of `stack/checks/` (Envoy's API schema, the Compose schema) on a file,
//! and on broken copies of it, so each check is shown to bite.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::{
    repo_root,
    temp_dir::TempDir,
    tools::{SETUP_COMMAND, stack_dir},
};

/// What a check printed and how it exited.
#[derive(Debug)]
pub struct Verdict {
    pub ok: bool,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Verdict {
    fn from(output: Output) -> Self {
        Self {
            ok: output.status.success(),
            exit_code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        }
    }
}

fn venv_python() -> PathBuf {
    let python = stack_dir().join("venv/bin/python");
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
    Verdict::from(output)
}

/// Writes `<repo>/<file>` with `from` replaced by `to` into a temp dir, runs `script` on it and
/// returns the verdict. Panics if `from` no longer occurs, so a broken-file test cannot go stale silently.
pub fn run_on_broken_copy(script: &str, file: &str, from: &str, to: &str) -> Verdict {
    run(script, broken_copy(file, from, to).path())
}

/// `<repo>/<file>` with the first `from` replaced by `to`, in a temp dir that lives as long as
/// the copy, beside links to the repository's other top-level files (so a check that looks at
/// the files next to it, such as the Dockerfile beside docker-compose.yml, sees the real ones).
/// Panics if `from` no longer occurs, so a broken-file test cannot go stale silently.
pub fn broken_copy(file: &str, from: &str, to: &str) -> BrokenCopy {
    let root = repo_root();
    let original =
        fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
    assert!(
        original.contains(from),
        "{from:?} no longer occurs in {file}; update this test to the new file"
    );
    let dir = TempDir::new("check");
    for entry in fs::read_dir(&root).expect("list the repository") {
        let name = entry.expect("a directory entry").file_name();
        if name != file && name != "target" {
            std::os::unix::fs::symlink(root.join(&name), dir.path().join(&name))
                .unwrap_or_else(|e| panic!("link {name:?} beside the broken copy: {e}"));
        }
    }
    let path = dir.path().join(file);
    fs::write(&path, original.replacen(from, to, 1)).expect("write the broken copy");
    BrokenCopy { path, _dir: dir }
}

/// A broken copy of a repository file; its directory goes when it is dropped.
pub struct BrokenCopy {
    path: PathBuf,
    _dir: TempDir,
}

impl BrokenCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }
}
