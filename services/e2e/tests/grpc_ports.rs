//! Every gRPC port (ingest, saver, admin) answers `grpc.health.v1` with SERVING, lists through
//! reflection v1 and v1alpha (old and new grpcurl) exactly the services it serves, and answers an
//! unknown method with UNIMPLEMENTED.

mod support;

use std::net::SocketAddr;

use sensorpipe::proto::v1::{
    ListSensorsRequest, ReadingBatch, admin_service_client::AdminServiceClient,
    ingest_service_client::IngestServiceClient,
};
use testkit::{LISTEN_ON_PORT_0, RunningService};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::{v1, v1alpha};

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// The services a port lists through reflection: `$version` is `v1` or `v1alpha`, the same
/// protocol in two packages (old and new grpcurl ask different ones).
macro_rules! listed {
    ($version:ident, $channel:expr) => {{
        use $version::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = ServerReflectionClient::new($channel)
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
            MessageResponse::ListServicesResponse(list) => list
                .service
                .into_iter()
                .map(|s| s.name)
                .collect::<Vec<String>>(),
            other => panic!("unexpected reflection answer {other:?}"),
        }
    }};
}

#[tokio::test(flavor = "multi_thread")]
async fn every_grpc_port_serves_health_and_reflection() {
    let database_url = testkit::fresh_database("grpc_ports").await;
    // Each with its defaults, but the test's database.
    let ingest = RunningService::<ingest::Application>::start_with_args(
        LISTEN_ON_PORT_0.iter().chain(&["--insecure-no-auth"]),
    )
    .await;
    let saver = RunningService::<saver::Application>::start_with_args(
        LISTEN_ON_PORT_0
            .iter()
            .chain(&["--database-url", database_url.as_str()]),
    )
    .await;
    let admin = support::start_admin(&database_url, &[]).await;
    // What each port serves besides health and reflection.
    let ports = [
        ("ingest", ingest.addr, Some("sensorpipe.v1.IngestService")),
        ("saver", saver.addr, None),
        ("admin", admin.addr, Some("sensorpipe.v1.AdminService")),
    ];
    for (name, addr, own) in ports {
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
            listed!(v1, channel.clone()),
            listed!(v1alpha, channel.clone()),
        ] {
            let mut listed = listed;
            listed.sort();
            let mut served: Vec<&str> = own
                .into_iter()
                .chain([
                    "grpc.health.v1.Health",
                    "grpc.reflection.v1.ServerReflection",
                    "grpc.reflection.v1alpha.ServerReflection",
                ])
                .collect();
            served.sort();
            assert_eq!(
                listed, served,
                "{name}: reflection lists what the port serves"
            );
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
    }
    ingest.stop().await;
    saver.stop().await;
    admin.stop().await;
}
