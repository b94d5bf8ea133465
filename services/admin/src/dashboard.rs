//! The browser dashboard: the files of its build (`web/` built into `web/dist`) served at `/` on
//! admin's own port, so the page's gRPC-Web calls go back to the origin it came from and need no
//! CORS. Only GET and HEAD of a file that exists reach the build; every other request keeps the
//! answer it had before there was a dashboard ([`http::unknown`]): UNIMPLEMENTED for gRPC, the
//! JSON 404 for the rest.

use std::path::{Path, PathBuf};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodRouter, any},
};
use tower_http::services::ServeDir;

use sensorpipe::http_error::error_response;
use tonic::Code;

use crate::http;

const INDEX: &str = "index.html";

/// What `GET /` says while the build is missing, so whoever opens the page learns the fix.
const NOT_BUILT: &str =
    "the dashboard is not built: run scripts/dev setup (or: cd web && npm ci && npm run build)";

#[derive(Clone)]
struct Dashboard {
    dir: PathBuf,
    files: ServeDir,
}

/// The router's fallback: dashboard files, else what unknown paths got before. A missing build
/// is only warned about, so admin's API serves without Node; the files are looked up on every
/// request, so a build made after start-up is served without a restart.
pub fn fallback(dir: &Path) -> MethodRouter {
    if !dir.join(INDEX).is_file() {
        tracing::warn!(dir = %dir.display(), "no {INDEX}: {NOT_BUILT}");
    }
    let dashboard = Dashboard {
        dir: dir.to_owned(),
        files: ServeDir::new(dir),
    };
    any(serve).with_state(dashboard)
}

async fn serve(State(mut dashboard): State<Dashboard>, request: Request) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reads || http::is_grpc(&request) {
        return http::unknown(&request);
    }
    let path = request.uri().path().to_owned();
    let response = match dashboard.files.try_call(request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, path, "cannot read a dashboard file");
            let message = format!("cannot read the dashboard file for {path}: {error}");
            return error_response(Code::Internal, None, message);
        }
    };
    let mut response = match response.status() {
        StatusCode::NOT_FOUND if path == "/" => not_built(&dashboard.dir),
        StatusCode::NOT_FOUND => return http::not_found(&path),
        _ => response.map(Body::new),
    };
    // The bundle's names carry no content hash (`app.js`, not `app.3f9c.js`), so a heuristically
    // cached file could pair a new index.html with an old app.js after a rebuild. `no-cache`
    // makes the browser ask each time; ServeDir's Last-Modified turns that into a cheap 304.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// One plain-text line: the page a browser shows instead of the dashboard.
fn not_built(dir: &Path) -> Response {
    let line = format!("{NOT_BUILT} [no {INDEX} in {}]\n", dir.display());
    let plain = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    (StatusCode::NOT_FOUND, plain, line).into_response()
}
