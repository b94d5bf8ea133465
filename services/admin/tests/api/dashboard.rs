//! The browser dashboard's build served at `/` (`--web-dir`), while every route admin had before
//! answers as before; and a missing build, which only costs the page.

use std::{
    fs,
    path::{Path, PathBuf},
};

use reqwest::{Response, header};
use sensorpipe::proto::v1;
use serde_json::Value;

use crate::helpers::{TestApp, row};

const INDEX_HTML: &str = "<!doctype html><title>sensorpipe</title><script src=app.js></script>\n";
const APP_JS: &str = "console.log('sensorpipe');\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_build_is_served_at_the_root_beside_every_api() {
    let build = fresh_dir("built");
    let dist = build.join("dist");
    fs::create_dir(&dist).unwrap();
    fs::write(dist.join("index.html"), INDEX_HTML).unwrap();
    fs::write(dist.join("app.js"), APP_JS).unwrap();
    // Beside the build, not in it: must never be served.
    fs::write(build.join("secret.txt"), "secret").unwrap();
    let mut app = TestApp::spawn_with(&["--web-dir", path(&dist)]).await;
    app.save(&[row("a", 0, 0), row("b", 1, 0)]).await;

    for path in ["/", "/index.html"] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), 200, "GET {path}: {response:?}");
        assert!(
            content_type(&response).starts_with("text/html"),
            "{response:?}"
        );
        // Re-asked every time, so a rebuild is never paired with a stale app.js.
        assert_eq!(cache_control(&response), "no-cache", "{response:?}");
        assert_eq!(response.text().await.unwrap(), INDEX_HTML, "GET {path}");
    }
    let response = get(&app, "/app.js").await;
    assert_eq!(response.status(), 200, "{response:?}");
    assert!(
        content_type(&response).contains("javascript"),
        "{response:?}"
    );
    assert_eq!(response.text().await.unwrap(), APP_JS);
    let head = app.http.head(app.url("/")).send().await.unwrap();
    assert_eq!(head.status(), 200, "{head:?}");
    assert!(content_type(&head).starts_with("text/html"), "{head:?}");
    assert_eq!(head.text().await.unwrap(), "");

    // The APIs on the same port are untouched.
    let (status, body) = app.get_json("/measurements?limit=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["measurements"].as_array().map(Vec::len), Some(1));
    let sensors = app
        .grpc
        .clone()
        .list_sensors(v1::ListSensorsRequest::default())
        .await
        .expect("ListSensors over gRPC")
        .into_inner();
    assert_eq!(sensors.sensors.len(), 2);
    let metrics = get(&app, "/metrics").await;
    assert_eq!(metrics.status(), 200, "{metrics:?}");
    assert!(metrics.text().await.unwrap().contains("admin_requests"));

    // What is neither a route nor a file of the build: the JSON 404, also for a path that climbs
    // out of the build, and for anything but GET/HEAD of a file.
    for path in [
        "/nope",
        "/measurements/nope",
        "/app.js/x",
        "/..%2fsecret.txt",
    ] {
        assert_json_404(get(&app, path).await, path).await;
    }
    let post = app.http.post(app.url("/index.html")).send().await.unwrap();
    assert_json_404(post, "POST /index.html").await;

    // gRPC-Web to an unknown method or service, or to a file's path: UNIMPLEMENTED, as before.
    for path in [
        "/sensorpipe.v1.AdminService/Nope",
        "/sensorpipe.v1.Nope/List",
        "/index.html",
    ] {
        assert_eq!(grpc_web_status(&app, path).await, "12", "POST {path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_build_the_root_says_how_to_build_it_and_the_apis_serve() {
    let empty = fresh_dir("not-built");
    let app = TestApp::spawn_with(&["--web-dir", path(&empty)]).await;

    let response = get(&app, "/").await;
    assert_eq!(response.status(), 404, "{response:?}");
    assert!(
        content_type(&response).starts_with("text/plain"),
        "{response:?}"
    );
    assert_eq!(cache_control(&response), "no-cache", "{response:?}");
    let body = response.text().await.unwrap();
    assert_eq!(body.lines().count(), 1, "one line: {body:?}");
    assert!(
        body.starts_with("the dashboard is not built: run scripts/dev setup")
            && body.contains("cd web && npm ci && npm run build"),
        "{body:?}"
    );
    assert_json_404(get(&app, "/app.js").await, "/app.js").await;

    let (status, body) = app.get_json("/measurements?limit=1").await;
    assert_eq!(status, 200, "{body}");
    let sensors = app
        .grpc
        .clone()
        .list_sensors(v1::ListSensorsRequest::default())
        .await
        .expect("ListSensors over gRPC");
    assert!(sensors.into_inner().sensors.is_empty());
}

async fn get(app: &TestApp, path: &str) -> Response {
    app.http
        .get(app.url(path))
        .send()
        .await
        .expect("admin answers HTTP")
}

fn content_type(response: &Response) -> &str {
    header_text(response, header::CONTENT_TYPE)
}

fn cache_control(response: &Response) -> &str {
    header_text(response, header::CACHE_CONTROL)
}

fn header_text(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn assert_json_404(response: Response, what: &str) {
    assert_eq!(response.status(), 404, "{what}: {response:?}");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["error"]["code"], "NOT_FOUND", "{what}: {body}");
}

/// The `grpc-status` of a gRPC-Web call with an empty request message, from the headers or the
/// trailer frame at the end of the body.
async fn grpc_web_status(app: &TestApp, path: &str) -> String {
    let response = app
        .http
        .post(app.url(path))
        .header(header::CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(vec![0u8; 5])
        .send()
        .await
        .expect("admin answers gRPC-Web");
    if let Some(status) = response.headers().get("grpc-status") {
        return status.to_str().unwrap().to_owned();
    }
    let body = response.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&body);
    let (_, rest) = text
        .split_once("grpc-status:")
        .unwrap_or_else(|| panic!("POST {path}: no grpc-status in {text:?}"));
    rest.trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("a UTF-8 temp path")
}

/// An empty directory of this test's own under Cargo's temp dir for integration tests (inside
/// `target/`, so nothing to clean up; emptied again by the next run).
fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("dashboard")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the test's directory");
    dir
}
