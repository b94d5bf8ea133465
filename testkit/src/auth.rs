//! A tokens file of a test's own, made with the same code as the `tokens` command, so tests start
//! services with auth on and call them as a device, a dashboard or an operator would.

use std::path::PathBuf;

use sensorpipe::auth::tokens::TokenFile;

use crate::TempDir;

/// An owner-only tokens file in a scratch directory, removed with it.
pub struct TestTokens {
    dir: TempDir,
    pub file: PathBuf,
}

impl Default for TestTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl TestTokens {
    /// An empty tokens file (services refuse every token until one is created).
    pub fn new() -> Self {
        let dir = TempDir::new("tokens");
        let file = dir.path().join("tokens.json");
        TokenFile::default()
            .save(&file)
            .expect("write the tokens file");
        Self { dir, file }
    }

    /// Creates a token named `name` with `scopes` (`["write:kitchen-", "read"]`), returns it.
    pub fn create(&self, name: &str, scopes: &[&str]) -> String {
        let mut tokens = TokenFile::load(&self.file).expect("read the tokens file");
        let scopes = scopes
            .iter()
            .map(|scope| scope.parse().expect("a valid scope"))
            .collect();
        let (_, token) = tokens.create(name, scopes).expect("create a token");
        tokens.save(&self.file).expect("write the tokens file");
        token
    }

    /// Revokes the token named `name`.
    pub fn revoke(&self, name: &str) {
        let mut tokens = TokenFile::load(&self.file).expect("read the tokens file");
        tokens.revoke(name).expect("revoke the token");
        tokens.save(&self.file).expect("write the tokens file");
    }

    /// Writes `token` to a file of its own (for `--token-file`) and returns its path.
    pub fn token_file(&self, name: &str, token: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.token"));
        std::fs::write(&path, format!("{token}\n")).expect("write the token file");
        path
    }

    /// The flags that start ingest or admin with this file.
    pub fn args(&self) -> [String; 2] {
        [
            "--auth-tokens-file".into(),
            self.file.to_str().expect("a UTF-8 path").into(),
        ]
    }
}

/// `Bearer <token>`, the `authorization` header value.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `--insecure-no-auth` unless `args` say how to authenticate: tests about something else than
/// auth start services open, tests about auth pass [`TestTokens::args`].
pub fn open_unless_tokens<S: AsRef<str>>(args: &[S]) -> Option<&'static str> {
    let decided = args
        .iter()
        .any(|arg| matches!(arg.as_ref(), "--auth-tokens-file" | "--insecure-no-auth"));
    (!decided).then_some("--insecure-no-auth")
}
