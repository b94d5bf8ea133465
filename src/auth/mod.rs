//! Who may call: bearer tokens with scopes, checked on every call of every protected endpoint.
//!
//! - [`scope`]: what a token may do (`write[:prefix]`, `read`, `admin`).
//! - [`tokens`]: the tokens file (hashes only) and the making and revoking of tokens.
//! - [`guard`]: the HTTP/gRPC middleware that asks for a scope per endpoint and answers
//!   UNAUTHENTICATED / 401 or PERMISSION_DENIED / 403.
//!
//! Auth is on unless a service is started with `--insecure-no-auth`; then it says so loudly, at
//! start-up and on `/metrics` (`sensorpipe_auth_enabled 0`), for as long as it runs.

pub mod guard;
pub mod scope;
pub mod tokens;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, RwLock, Weak},
    time::{Duration, SystemTime},
};

use prometheus::{IntCounterVec, IntGauge, register_int_counter_vec, register_int_gauge};
use tonic::Code;

use crate::{config::AuthArgs, metric};
pub use scope::{Need, Scope, Scopes};
use tokens::{Entry, FileError, TokenFile};

metric!(AUTH_ENABLED: IntGauge = register_int_gauge!(
    "sensorpipe_auth_enabled",
    "1 when callers must present a token; 0 when the service runs with --insecure-no-auth"
));
metric!(AUTH_TOKENS: IntGauge = register_int_gauge!(
    "sensorpipe_auth_tokens",
    "Tokens not revoked in the tokens file as last loaded"
));
metric!(AUTH_REFUSED: IntCounterVec = register_int_counter_vec!(
    "sensorpipe_auth_refused_total",
    "Calls refused by authentication or authorization, by reason",
    &["reason"]
));
metric!(AUTH_RELOAD_ERRORS: IntGauge = register_int_gauge!(
    "sensorpipe_auth_tokens_file_invalid",
    "1 while the tokens file on disk cannot be loaded (the last good one is still in use)"
));

/// Why auth cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "auth is on and needs --auth-tokens-file (AUTH_TOKENS_FILE): make one with \
         `tokens create --name NAME --scope read`; or, for a local playground only, \
         --insecure-no-auth"
    )]
    NoTokensFile,
    #[error(transparent)]
    File(#[from] FileError),
}

/// Why a call was refused. Messages never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing bearer token: send the header `authorization: Bearer <token>`")]
    Missing,
    #[error(
        "invalid token: the authorization header must be `Bearer <token>` with a sensorpipe token"
    )]
    Malformed,
    #[error("invalid or revoked token")]
    Unknown,
    #[error("invalid or revoked token")]
    Revoked,
    #[error("token `{name}` lacks the `{need}` scope this call needs")]
    Forbidden { name: String, need: Need },
}

impl Refusal {
    /// UNAUTHENTICATED (401) when the caller is not known, PERMISSION_DENIED (403) when it is
    /// known and not allowed.
    pub fn code(&self) -> Code {
        match self {
            Refusal::Forbidden { .. } => Code::PermissionDenied,
            _ => Code::Unauthenticated,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Malformed => "malformed",
            Refusal::Unknown => "unknown",
            Refusal::Revoked => "revoked",
            Refusal::Forbidden { .. } => "forbidden",
        }
    }
}

/// Who is calling: a token's entry, or anyone when auth is off.
#[derive(Debug, Clone)]
pub enum Principal {
    Token(Arc<Entry>),
    AuthOff,
}

impl Principal {
    /// Whether this caller may write readings of `sensor_id`.
    pub fn may_write(&self, sensor_id: &str) -> bool {
        match self {
            Principal::Token(entry) => entry.scopes.may_write(sensor_id),
            Principal::AuthOff => true,
        }
    }

    /// The sensor-id prefixes writes are limited to; empty when unlimited.
    pub fn write_prefixes(&self) -> Vec<&str> {
        match self {
            Principal::Token(entry) => entry.scopes.write_prefixes(),
            Principal::AuthOff => Vec::new(),
        }
    }
}

/// Checks tokens against the tokens file, reloaded in the background when it changes. Cheap to
/// clone; the reloading stops when the last clone is dropped.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Option<Arc<Loaded>>,
}

struct Loaded {
    path: PathBuf,
    by_id: RwLock<(Stamp, HashMap<String, Arc<Entry>>)>,
}

/// What tells a changed file: an atomic replace gives a new inode, an edit a new time or size.
type Stamp = Option<(SystemTime, u64, u64)>;

impl Authenticator {
    /// Auth as configured: the tokens file loaded (an unreadable or invalid one stops the start),
    /// or, with `--insecure-no-auth`, a warning that anyone may call. `service` names it in logs.
    pub fn from_args(args: &AuthArgs, service: &str) -> Result<Self, SetupError> {
        let Some(path) = args.auth_tokens_file.as_deref() else {
            if !args.insecure_no_auth {
                return Err(SetupError::NoTokensFile);
            }
            AUTH_ENABLED.set(0);
            tracing::warn!(
                "{service} runs with --insecure-no-auth: anyone who reaches it may write and read \
                 every sensor's readings. Use it for a local playground only."
            );
            return Ok(Self { tokens: None });
        };
        let (stamp, by_id) = read(path)?;
        AUTH_ENABLED.set(1);
        let loaded = Arc::new(Loaded {
            path: path.to_owned(),
            by_id: RwLock::new((stamp, by_id)),
        });
        tracing::info!(tokens_file = %path.display(), tokens = AUTH_TOKENS.get(), "{service} requires a bearer token");
        tokio::spawn(reload_while_used(
            Arc::downgrade(&loaded),
            args.auth_reload_interval,
        ));
        Ok(Self {
            tokens: Some(loaded),
        })
    }

    pub fn is_on(&self) -> bool {
        self.tokens.is_some()
    }

    /// The caller of a request with this `authorization` header value, if it holds `need`.
    pub fn authorize(&self, header: Option<&[u8]>, need: Need) -> Result<Principal, Refusal> {
        let result = self.check(header, need);
        if let Err(refusal) = &result {
            AUTH_REFUSED.with_label_values(&[refusal.reason()]).inc();
        }
        result
    }

    fn check(&self, header: Option<&[u8]>, need: Need) -> Result<Principal, Refusal> {
        let Some(loaded) = &self.tokens else {
            return Ok(Principal::AuthOff);
        };
        let header = header.ok_or(Refusal::Missing)?;
        let token = std::str::from_utf8(header)
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(Refusal::Malformed)?;
        let id = tokens::id_of(token).ok_or(Refusal::Unknown)?;
        let entry = {
            let guard = loaded.by_id.read().expect("token map lock");
            guard.1.get(id).cloned()
        }
        .filter(|entry| entry.matches(token))
        .ok_or(Refusal::Unknown)?;
        if entry.revoked_at.is_some() {
            return Err(Refusal::Revoked);
        }
        if !entry.scopes.grant(need) {
            return Err(Refusal::Forbidden {
                name: entry.name.clone(),
                need,
            });
        }
        Ok(Principal::Token(entry))
    }
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

fn read(path: &Path) -> Result<(Stamp, HashMap<String, Arc<Entry>>), FileError> {
    let stamp = stamp(path);
    let file = TokenFile::load(path)?;
    AUTH_TOKENS.set(file.live().count() as i64);
    let by_id = file
        .tokens
        .into_iter()
        .map(|entry| (entry.id.clone(), Arc::new(entry)))
        .collect();
    Ok((stamp, by_id))
}

/// Polls the file's stamp; on a change loads it, keeping the last good tokens when the new file
/// is invalid (a half-edited file must not lock everyone out, nor let anyone in).
async fn reload_while_used(loaded: Weak<Loaded>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(loaded) = loaded.upgrade() else {
            return;
        };
        let current = loaded.by_id.read().expect("token map lock").0;
        if stamp(&loaded.path) == current {
            continue;
        }
        match read(&loaded.path) {
            Ok(fresh) => {
                AUTH_RELOAD_ERRORS.set(0);
                tracing::info!(tokens = AUTH_TOKENS.get(), "tokens file reloaded");
                *loaded.by_id.write().expect("token map lock") = fresh;
            }
            Err(error) => {
                if AUTH_RELOAD_ERRORS.get() == 0 {
                    tracing::error!(%error, "tokens file not reloaded; the last good one stays in use");
                }
                AUTH_RELOAD_ERRORS.set(1);
                loaded.by_id.write().expect("token map lock").0 = stamp(&loaded.path);
            }
        }
    }
}
