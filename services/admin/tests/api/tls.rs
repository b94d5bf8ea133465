//! Admin over TLS: gRPC, gRPC-Web (HTTP/1.1, as browsers send it) and HTTP JSON still share one
//! port, and a client trusting another CA is refused while the server stays up.

use sensorpipe::proto::v1::{ListMeasurementsRequest, ListMeasurementsResponse};
use testkit::tls::{HttpVersion, TestCa};

use crate::{
    grpc_web::{self, Mode},
    helpers::{TestApp, row},
};

#[tokio::test(flavor = "multi_thread")]
async fn grpc_grpc_web_and_http_json_answer_over_tls() {
    let ca = TestCa::new("admin");
    let mut app = TestApp::spawn_over_tls(&ca).await;
    app.save(&[row("a", 0, 0), row("b", 1, 0)]).await;

    let grpc = app
        .grpc
        .clone()
        .list_measurements(ListMeasurementsRequest::default())
        .await
        .expect("ListMeasurements over TLS")
        .into_inner();
    assert_eq!(grpc.measurements.len(), 2);

    let web: ListMeasurementsResponse = grpc_web::call(
        &app,
        "/sensorpipe.v1.AdminService/ListMeasurements",
        &ListMeasurementsRequest::default(),
        Mode::Binary,
    )
    .await
    .single();
    assert_eq!(web, grpc);

    let (status, body) = app.get_json("/measurements").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["measurements"].as_array().map(Vec::len), Some(2));

    let other = TestCa::new("admin-other");
    let refused = other
        .http_client(None, HttpVersion::Http1)
        .get(app.url("/measurements"))
        .send()
        .await
        .expect_err("a client trusting another CA");
    assert!(
        format!("{refused:?}").contains("UnknownIssuer"),
        "{refused:?}"
    );
    let (status, _) = app.get_json("/measurements").await;
    assert_eq!(status, 200);
    app.stop().await;
}
