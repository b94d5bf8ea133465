//! Bad input is refused with INVALID_ARGUMENT naming the field; a database that is down gives
//! UNAVAILABLE; the service stays up through both.

use sensorpipe::proto::v1::{self, admin_service_client::AdminServiceClient};
use testkit::{LISTEN_ON_PORT_0, RunningService};
use tonic::Code;

use crate::helpers::{TestApp, at, dataset, timestamp};

fn invalid_field(result: Result<impl std::fmt::Debug, tonic::Status>) -> String {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status.message().split(':').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_argument_names_its_field() {
    let mut app = TestApp::spawn().await;
    app.save(&dataset()).await;
    let mut grpc = app.grpc.clone();
    let first = grpc
        .list_measurements(v1::ListMeasurementsRequest {
            page_size: 1,
            sensor_id: "a".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let sensors_token = grpc
        .list_sensors(v1::ListSensorsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .next_page_token;

    let cases: Vec<(&str, v1::ListMeasurementsRequest)> = vec![
        (
            "page_size",
            v1::ListMeasurementsRequest {
                page_size: -1,
                ..Default::default()
            },
        ),
        (
            "page_size",
            v1::ListMeasurementsRequest {
                page_size: 1001,
                ..Default::default()
            },
        ),
        (
            "page_token",
            v1::ListMeasurementsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
        ),
        // A token for other filters, and a ListSensors token.
        (
            "page_token",
            v1::ListMeasurementsRequest {
                page_token: first.next_page_token.clone(),
                ..Default::default()
            },
        ),
        (
            "page_token",
            v1::ListMeasurementsRequest {
                page_token: sensors_token.clone(),
                ..Default::default()
            },
        ),
        (
            "sensor_id",
            v1::ListMeasurementsRequest {
                sensor_id: "no spaces".into(),
                ..Default::default()
            },
        ),
        (
            "start_time",
            v1::ListMeasurementsRequest {
                start_time: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
                ..Default::default()
            },
        ),
        (
            "end_time",
            v1::ListMeasurementsRequest {
                start_time: timestamp(at(20, 0)),
                end_time: timestamp(at(10, 0)),
                ..Default::default()
            },
        ),
    ];
    for (field, request) in cases {
        let shown = format!("{request:?}");
        assert_eq!(
            invalid_field(grpc.list_measurements(request).await),
            field,
            "{shown}"
        );
    }
    assert_eq!(
        invalid_field(
            grpc.list_sensors(v1::ListSensorsRequest {
                page_size: 5000,
                ..Default::default()
            })
            .await
        ),
        "page_size"
    );
    assert_eq!(
        invalid_field(
            grpc.list_sensors(v1::ListSensorsRequest {
                page_token: first.next_page_token.clone(),
                ..Default::default()
            })
            .await
        ),
        "page_token"
    );
    assert_eq!(
        invalid_field(
            grpc.watch_measurements(v1::WatchMeasurementsRequest {
                cursor: "not-a-cursor".into(),
                ..Default::default()
            })
            .await
        ),
        "cursor"
    );

    // Still up, and the token that was refused elsewhere works where it belongs.
    let again = grpc
        .list_measurements(v1::ListMeasurementsRequest {
            page_size: 1,
            sensor_id: "a".into(),
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.measurements.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_given_twice_is_refused_naming_it() {
    let app = TestApp::spawn().await;
    for (path, field) in [
        ("/measurements?limit=5&limit=6", "limit"),
        ("/sensors?limit=1&page_token=a&limit=1", "limit"),
        ("/measurements?sensor_id=a&sensor_id=a", "sensor_id"),
        ("/measurements/watch?cursor=a&cursor=b", "cursor"),
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "GET {path}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_ARGUMENT", "GET {path}");
        assert_eq!(body["error"]["field"], field, "GET {path}: {body}");
        assert_eq!(
            body["error"]["message"],
            format!("{field}: must be given at most once"),
            "GET {path}"
        );
    }
    // Still answering.
    assert_eq!(app.get_json("/measurements?limit=5").await.0, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_gives_unavailable_and_the_service_stays_up() {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    // It starts without its database (start panics otherwise).
    let nowhere = [
        "--database-url",
        "postgres://sensorpipe:secret@127.0.0.1:1/nowhere",
        "--insecure-no-auth",
    ];
    let server = RunningService::<admin::Application>::start_with_args(
        LISTEN_ON_PORT_0.iter().chain(&nowhere),
    )
    .await;
    let mut grpc = AdminServiceClient::connect(server.url("")).await.unwrap();
    for _ in 0..3 {
        let status = grpc
            .list_measurements(v1::ListMeasurementsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(
            !status.message().contains("secret"),
            "no password in errors"
        );
    }
    let response = reqwest::get(server.url("/sensors")).await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAVAILABLE");
    assert!(!server.is_finished(), "still serving");
    server.stop().await;
}
