//! Token administration over HTTP JSON, for operators holding an `admin` token: `GET /tokens`
//! lists them, `POST /tokens` creates one (its secret in the answer, the only time it is shown),
//! `DELETE /tokens/{id}` revokes one. The same file and rules as the `tokens` command, which needs
//! a shell on the host; this needs only admin's port and an `admin` token. Changes go through
//! [`TokenFile::update`] (locked against the command), and every service reading the file picks
//! them up within its reload interval. Secrets and hashes never appear in an answer or a log.

use std::{path::PathBuf, str::FromStr, sync::Arc};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get},
};
use chrono::{DateTime, SecondsFormat, Utc};
use sensorpipe::{
    auth::{
        Principal, Scope,
        tokens::{Entry, FileError, TokenFile},
    },
    http_error::{error_response, refuse_unless_json},
};
use serde::{Deserialize, Serialize};
use tonic::Code;

/// The routes, on the tokens file admin authenticates with; `None` when auth is off.
pub fn router(tokens_file: Option<PathBuf>) -> Router {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(revoke))
        .with_state(tokens_file.map(Arc::new))
}

type TokensFile = State<Option<Arc<PathBuf>>>;

/// A token as listed: never its secret or hash.
#[derive(Debug, Serialize)]
struct TokenJson {
    id: String,
    name: String,
    scopes: Vec<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

impl From<&Entry> for TokenJson {
    fn from(entry: &Entry) -> Self {
        let time = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        Self {
            id: entry.id.clone(),
            name: entry.name.clone(),
            scopes: entry.scopes.0.iter().map(ToString::to_string).collect(),
            created_at: time(entry.created_at),
            revoked_at: entry.revoked_at.map(time),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    scopes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Created {
    /// The secret, shown this once.
    token: String,
    #[serde(flatten)]
    entry: TokenJson,
}

async fn list(State(file): TokensFile) -> Response {
    answer(async {
        let path = tokens_file(file)?;
        let file = blocking(move || TokenFile::load(&path)).await?;
        let tokens: Vec<TokenJson> = file.tokens.iter().map(TokenJson::from).collect();
        Ok(Json(serde_json::json!({ "tokens": tokens })).into_response())
    })
    .await
}

async fn create(
    State(file): TokensFile,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = refuse_unless_json(&headers, "POST /tokens") {
        return refused;
    }
    answer(async {
        let path = tokens_file(file)?;
        let (name, scopes) = parse(&body)?;
        let (entry, token) =
            blocking(move || TokenFile::update(&path, |file| file.create(&name, scopes))).await?;
        tracing::info!(
            id = %entry.id, name = %entry.name, scopes = %entry.scopes, by = %by(&caller),
            "token created through the API"
        );
        let entry = TokenJson::from(&entry);
        Ok((StatusCode::CREATED, Json(Created { token, entry })).into_response())
    })
    .await
}

async fn revoke(
    State(file): TokensFile,
    Extension(caller): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    answer(async {
        let path = tokens_file(file)?;
        let entry = blocking(move || TokenFile::update(&path, |file| file.revoke(&id))).await?;
        tracing::info!(
            id = %entry.id, name = %entry.name, by = %by(&caller),
            "token revoked through the API"
        );
        Ok(Json(TokenJson::from(&entry)).into_response())
    })
    .await
}

/// Why a call was refused: its JSON error answer.
struct Refusal {
    code: Code,
    field: Option<String>,
    message: String,
}

impl Refusal {
    fn new(code: Code, field: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            code,
            field: field.map(Into::into),
            message: message.into(),
        }
    }
}

impl From<FileError> for Refusal {
    fn from(error: FileError) -> Self {
        let (code, field) = match &error {
            FileError::NotFound(_) => (Code::NotFound, Some("id")),
            FileError::NameTaken(_) => (Code::AlreadyExists, Some("name")),
            FileError::InvalidName => (Code::InvalidArgument, Some("name")),
            FileError::Read { .. }
            | FileError::Invalid { .. }
            | FileError::Write { .. }
            | FileError::Random(_) => {
                tracing::error!(%error, "token administration failed");
                (Code::Internal, None)
            }
        };
        Self::new(code, field, error.to_string())
    }
}

async fn answer(work: impl Future<Output = Result<Response, Refusal>>) -> Response {
    work.await
        .unwrap_or_else(|refusal| error_response(refusal.code, refusal.field, refusal.message))
}

/// The tokens file, or the refusal of a call when auth is off (there are no tokens then).
fn tokens_file(file: Option<Arc<PathBuf>>) -> Result<PathBuf, Refusal> {
    file.map(|path| path.as_ref().clone()).ok_or_else(|| {
        Refusal::new(
            Code::FailedPrecondition,
            None,
            "admin runs with --insecure-no-auth: there are no tokens to manage",
        )
    })
}

/// `{"name", "scopes"}`, each error naming its field (`scopes[1]`).
fn parse(body: &[u8]) -> Result<(String, Vec<Scope>), Refusal> {
    let request: CreateRequest = serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let field = ["name", "scopes"]
            .into_iter()
            .find(|field| text.contains(&format!("`{field}`")))
            .unwrap_or("body");
        Refusal::new(
            Code::InvalidArgument,
            Some(field),
            format!("the body must be {{\"name\": ..., \"scopes\": [...]}}: {text}"),
        )
    })?;
    if request.scopes.is_empty() {
        return Err(Refusal::new(
            Code::InvalidArgument,
            Some("scopes"),
            "give at least one scope: write, write:<sensor-id prefix>, read or admin",
        ));
    }
    let scopes = request
        .scopes
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Scope::from_str(text).map_err(|message| {
                Refusal::new(
                    Code::InvalidArgument,
                    Some(&format!("scopes[{i}]")),
                    message,
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((request.name, scopes))
}

/// File work (and waiting for the `tokens` command's lock) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, FileError> {
    tokio::task::spawn_blocking(work)
        .await
        .expect("token file work does not panic")
}

/// Who made a change, for the log: the token's name.
fn by(caller: &Principal) -> &str {
    match caller {
        Principal::Token(entry) => &entry.name,
        Principal::AuthOff => "nobody (auth off)",
    }
}
