//! The command-line tools the README's examples use, found the way `scripts/dev` installs them.

use std::{env, path::PathBuf};

use crate::repo_root;

/// grpcurl from `GRPCURL`, `$STACK_DIR/go/bin` or `PATH`; one line naming `scripts/dev setup`
/// when there is none.
pub fn grpcurl() -> PathBuf {
    if let Some(path) = env::var_os("GRPCURL").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "GRPCURL={} does not exist: install grpcurl with `scripts/dev setup`",
            path.display()
        );
        return path;
    }
    let stack_dir = env::var_os("STACK_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| repo_root().join(".stack"), |d| repo_root().join(d));
    let installed = stack_dir.join("go/bin/grpcurl");
    if installed.is_file() {
        return installed;
    }
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join("grpcurl"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "grpcurl not found (GRPCURL, {}, PATH): install it with `scripts/dev setup`",
                installed.display()
            )
        })
}

/// `text` as one single-quoted shell word.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
