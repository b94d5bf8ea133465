//! The tokens file: every token's id, name, scopes and the SHA-256 of its secret, never the secret
//! itself. A secret is 256 random bits, so a fast hash is enough (slow hashes are for guessable
//! passwords) and checking one costs microseconds on every call. The file is JSON, replaced
//! atomically, readable by its owner only; revoked tokens stay listed, for the record.
//!
//! A token reads `sp_<id>_<secret>`: the id (public, in logs and in `tokens list`) finds the entry,
//! and the hash of the whole token must match in constant time.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::scope::{Scope, Scopes};

const PREFIX: &str = "sp_";
const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;
/// Names go to logs and listings: short, printable.
const MAX_NAME_CHARS: usize = 100;

/// Why the tokens file cannot be used. Messages name the file, never a secret or a hash.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the tokens file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write the tokens file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no token has the id or name `{0}`")]
    NotFound(String),
    #[error("a token named `{0}` exists already: revoke it or pick another name")]
    NameTaken(String),
    #[error(
        "a token's name must be 1 to {MAX_NAME_CHARS} characters, none of them control characters"
    )]
    InvalidName,
    #[error("cannot make a random secret: {0}")]
    Random(String),
}

/// One token as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub name: String,
    #[serde(with = "scope_names")]
    pub scopes: Scopes,
    /// Lower-case hex SHA-256 of the whole token.
    sha256: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Entry {
    /// Whether `token` is this entry's, compared in constant time.
    pub fn matches(&self, token: &str) -> bool {
        hash(token).as_bytes().ct_eq(self.sha256.as_bytes()).into()
    }
}

/// Everything in the file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    pub tokens: Vec<Entry>,
}

impl TokenFile {
    /// Reads `path`; a missing file is an error (a typo must not turn into "no tokens").
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let text = fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Reads `path`, or an empty set when it does not exist yet (the command creating the first
    /// token).
    pub fn load_or_empty(path: &Path) -> Result<Self, FileError> {
        match fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            _ => Self::load(path),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Self, FileError> {
        let file: Self = serde_json::from_str(text).map_err(|e| FileError::Invalid {
            path: path.into(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| FileError::Invalid {
            path: path.into(),
            message,
        };
        for (i, entry) in file.tokens.iter().enumerate() {
            if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!(
                    "token {i} (`{}`): sha256 must be 64 hex digits",
                    entry.id
                )));
            }
            if file.tokens[..i].iter().any(|other| other.id == entry.id) {
                return Err(invalid(format!("token id `{}` appears twice", entry.id)));
            }
        }
        Ok(file)
    }

    /// Writes the file whole to a temporary file beside it, then renames it into place, so a
    /// service reloading it never reads half of it. Owner-only permissions.
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        let write_error = |source| FileError::Write {
            path: path.into(),
            source,
        };
        let text = serde_json::to_string_pretty(self).expect("tokens serialize");
        let temp = path.with_extension("tmp");
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp).map_err(write_error)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(write_error)?;
        fs::rename(&temp, path).map_err(write_error)
    }

    /// Runs `change` on the file at `path` (empty if there is none yet) and saves the result,
    /// all under an exclusive lock on `<path>.lock`: the `tokens` command and admin's token API
    /// may change the file at the same time, and neither may lose the other's change. Nothing is
    /// saved when `change` fails.
    pub fn update<T>(
        path: &Path,
        change: impl FnOnce(&mut Self) -> Result<T, FileError>,
    ) -> Result<T, FileError> {
        let lock_path = path.with_extension("lock");
        let lock_error = |source| FileError::Write {
            path: lock_path.clone(),
            source,
        };
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options.open(&lock_path).map_err(lock_error)?;
        lock.lock().map_err(lock_error)?;
        let mut file = Self::load_or_empty(path)?;
        let result = change(&mut file)?;
        file.save(path)?;
        Ok(result)
    }

    /// Adds a token and returns its secret: the only time it exists outside the caller's hands.
    pub fn create(&mut self, name: &str, scopes: Vec<Scope>) -> Result<(Entry, String), FileError> {
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(FileError::InvalidName);
        }
        if self.live().any(|entry| entry.name == name) {
            return Err(FileError::NameTaken(name.into()));
        }
        let id = loop {
            let id = hex(&random::<ID_BYTES>()?);
            if self.tokens.iter().all(|entry| entry.id != id) {
                break id;
            }
        };
        let secret =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<SECRET_BYTES>()?);
        let token = format!("{PREFIX}{id}_{secret}");
        let entry = Entry {
            id,
            name: name.into(),
            scopes: Scopes(scopes),
            sha256: hash(&token),
            created_at: Utc::now(),
            revoked_at: None,
        };
        self.tokens.push(entry.clone());
        Ok((entry, token))
    }

    /// Revokes the live token with this id or name; it stays in the file, marked.
    pub fn revoke(&mut self, id_or_name: &str) -> Result<Entry, FileError> {
        let now = Utc::now();
        let entry = self
            .tokens
            .iter_mut()
            .find(|e| e.revoked_at.is_none() && (e.id == id_or_name || e.name == id_or_name))
            .ok_or_else(|| FileError::NotFound(id_or_name.into()))?;
        entry.revoked_at = Some(now);
        Ok(entry.clone())
    }

    /// The tokens not revoked.
    pub fn live(&self) -> impl Iterator<Item = &Entry> {
        self.tokens
            .iter()
            .filter(|entry| entry.revoked_at.is_none())
    }
}

/// The id part of a token that has our shape, to find its entry.
pub fn id_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 2 * ID_BYTES && !secret.is_empty()).then_some(id)
}

fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random<const N: usize>() -> Result<[u8; N], FileError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|e| FileError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Scopes as their names in the file: `["write:kitchen-", "read"]`.
mod scope_names {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::{Scope, Scopes};

    pub fn serialize<S: Serializer>(scopes: &Scopes, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(scopes.0.iter().map(Scope::to_string))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scopes, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|name| name.parse().map_err(D::Error::custom))
            .collect::<Result<_, _>>()
            .map(Scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_token_matches_only_itself_and_the_file_keeps_no_secret() {
        let mut file = TokenFile::default();
        let (entry, token) = file.create("dev", vec![Scope::Read]).unwrap();
        assert!(token.starts_with("sp_") && token.len() > 50, "{token}");
        assert_eq!(id_of(&token), Some(entry.id.as_str()));
        assert!(entry.matches(&token));
        let mut wrong = token.clone();
        wrong.pop();
        assert!(!entry.matches(&wrong));
        let secret = token.rsplit('_').next().unwrap();
        let stored = serde_json::to_string(&file).unwrap();
        assert!(
            !stored.contains(secret),
            "the file must not hold the secret"
        );
    }

    #[test]
    fn a_name_is_short_and_printable() {
        let mut file = TokenFile::default();
        for bad in ["", "line\nbreak", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert!(
                matches!(
                    file.create(bad, vec![Scope::Read]),
                    Err(FileError::InvalidName)
                ),
                "{bad:?}"
            );
        }
        assert!(file.tokens.is_empty());
        file.create(&"x".repeat(MAX_NAME_CHARS), vec![Scope::Read])
            .unwrap();
    }

    /// The `tokens` command and admin's API may change the file at once: with the lock, every
    /// change lands (without it, one writer's load-modify-save would drop another's token).
    #[test]
    fn concurrent_updates_all_land() {
        let dir = std::env::temp_dir().join(format!("sensorpipe-tokens-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for j in 0..10 {
                        let name = format!("t{i}-{j}");
                        TokenFile::update(&path, |file| file.create(&name, vec![Scope::Read]))
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(TokenFile::load(&path).unwrap().live().count(), 80);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_are_unique_among_live_tokens_and_revoking_keeps_the_entry() {
        let mut file = TokenFile::default();
        file.create("dev", vec![Scope::Read]).unwrap();
        assert!(matches!(
            file.create("dev", vec![Scope::Read]),
            Err(FileError::NameTaken(_))
        ));
        let revoked = file.revoke("dev").unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(matches!(file.revoke("dev"), Err(FileError::NotFound(_))));
        file.create("dev", vec![Scope::Read]).unwrap();
        assert_eq!(file.tokens.len(), 2);
        assert_eq!(file.live().count(), 1);
    }

    #[test]
    fn saved_files_load_back_and_bad_ones_are_named() {
        let dir = std::env::temp_dir().join(format!("sp-tokens-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        let mut file = TokenFile::default();
        let (_, token) = file
            .create("kitchen", vec!["write:kitchen-".parse().unwrap()])
            .unwrap();
        file.save(&path).unwrap();
        let loaded = TokenFile::load(&path).unwrap();
        assert!(loaded.tokens[0].matches(&token));
        assert_eq!(loaded.tokens[0].scopes.to_string(), "write:kitchen-");
        fs::write(&path, r#"{"tokens": [{"id": "x"}]}"#).unwrap();
        let error = TokenFile::load(&path).unwrap_err().to_string();
        assert!(error.contains("tokens.json is not valid"), "{error}");
        let missing = TokenFile::load(&dir.join("nope.json"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot read the tokens file"), "{missing}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
