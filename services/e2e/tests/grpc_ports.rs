//! Every gRPC port (ingest, saver, admin) answers `grpc.health.v1` with SERVING, lists the
//! contract's services through reflection v1 and v1alpha (old and new grpcurl), and answers an
//! unknown method with UNIMPLEMENTED.

use sensorpipe::service::Service;
use std::{future::Future, net::SocketAddr};

use clap::Parser;
use sensorpipe::{
    proto::{
        SERVICE_NAMES,
        v1::{
            ListSensorsRequest, ReadingBatch, admin_service_client::AdminServiceClient,
            ingest_service_client::IngestServiceClient,
        },
    },
    testing,
};
use tokio::sync::oneshot;
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::{v1, v1alpha};

/// Starts a service on port 0 and returns its address and the trigger that stops it.
fn spawn<F>(
    addr: SocketAddr,
    run: impl FnOnce(oneshot::Receiver<()>) -> F,
) -> (SocketAddr, oneshot::Sender<()>)
where
    F: Future<Output = ()> + Send + 'static,
{
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(run(stopped));
    (addr, stop)
}

async fn start_all() -> Vec<(&'static str, SocketAddr, oneshot::Sender<()>)> {
    let database_url = testing::fresh_database("grpc_ports").await;
    let port0 = ["--listen-addr", "127.0.0.1:0"];

    let ingest =
        ingest::Application::build(ingest::Config::parse_from(["ingest"].iter().chain(&port0)))
            .await
            .unwrap();
    let saver = saver::Application::build(saver::Config::parse_from(
        ["saver", "--database-url", &database_url]
            .iter()
            .chain(&port0),
    ))
    .await
    .unwrap();
    let admin = admin::Application::build(admin::Config::parse_from(
        ["admin", "--database-url", &database_url]
            .iter()
            .chain(&port0),
    ))
    .await
    .unwrap();

    let (a, s1) = spawn(ingest.local_addr(), |stop| async move {
        ingest
            .run_until_stopped(async { drop(stop.await) })
            .await
            .unwrap()
    });
    let (b, s2) = spawn(saver.local_addr(), |stop| async move {
        saver
            .run_until_stopped(async { drop(stop.await) })
            .await
            .unwrap()
    });
    let (c, s3) = spawn(admin.local_addr(), |stop| async move {
        admin
            .run_until_stopped(async { drop(stop.await) })
            .await
            .unwrap()
    });
    vec![("ingest", a, s1), ("saver", b, s2), ("admin", c, s3)]
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn listed_v1(channel: Channel) -> Vec<String> {
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match responses
        .message()
        .await
        .unwrap()
        .unwrap()
        .message_response
        .unwrap()
    {
        v1::server_reflection_response::MessageResponse::ListServicesResponse(list) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

async fn listed_v1alpha(channel: Channel) -> Vec<String> {
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match responses
        .message()
        .await
        .unwrap()
        .unwrap()
        .message_response
        .unwrap()
    {
        v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_grpc_port_serves_health_and_reflection() {
    for (name, addr, stop) in start_all().await {
        let channel = channel(addr).await;

        let health = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: health check failed: {e}"))
            .into_inner();
        assert_eq!(health.status(), ServingStatus::Serving, "{name}");

        for listed in [
            listed_v1(channel.clone()).await,
            listed_v1alpha(channel.clone()).await,
        ] {
            for service in SERVICE_NAMES.iter().chain(&["grpc.health.v1.Health"]) {
                assert!(
                    listed.iter().any(|s| s == service),
                    "{name}: {service} not in {listed:?}"
                );
            }
        }

        let unknown = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: "no.such.Service".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            unknown.code(),
            Code::NotFound,
            "{name}: unknown health service"
        );

        // A method of the contract this port does not serve: the admin API everywhere but on
        // admin, the ingest API there.
        let unserved = if name == "admin" {
            IngestServiceClient::new(channel)
                .send_readings(ReadingBatch::default())
                .await
                .unwrap_err()
        } else {
            AdminServiceClient::new(channel)
                .list_sensors(ListSensorsRequest::default())
                .await
                .unwrap_err()
        };
        assert_eq!(
            unserved.code(),
            Code::Unimplemented,
            "{name}: unknown method"
        );

        stop.send(()).unwrap();
    }
}
