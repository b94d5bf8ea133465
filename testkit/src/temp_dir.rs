//! Scratch directories for files a test writes (a broken copy of a config, Envoy's config and
//! logs): removed when the test is done with them, also when it panics, so no run fills the disk.

use std::{
    env, fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

/// A fresh directory under the system temp dir, removed again when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `<tmp>/sensorpipe-<purpose>-<pid>-<n>`: unique within the run and across parallel runs.
    pub fn new(purpose: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sensorpipe-{purpose}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
