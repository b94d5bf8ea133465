//! `sensorpipe.v1.AdminService` over gRPC (and gRPC-Web, which tonic-web turns into gRPC).

use std::pin::Pin;

use futures::{Stream, StreamExt};
use sensorpipe::proto::v1::{self, admin_service_server::AdminService};
use tonic::{Request, Response, Status};

use crate::{
    metrics::{Method, Protocol, observe},
    query::{MeasurementsQuery, SensorsQuery, WatchQuery},
    service::Admin,
    store::SensorRow,
};

pub struct AdminGrpc {
    admin: Admin,
}

impl AdminGrpc {
    pub fn new(admin: Admin) -> Self {
        Self { admin }
    }
}

type WatchStream =
    Pin<Box<dyn Stream<Item = Result<v1::WatchMeasurementsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AdminService for AdminGrpc {
    async fn list_measurements(
        &self,
        request: Request<v1::ListMeasurementsRequest>,
    ) -> Result<Response<v1::ListMeasurementsResponse>, Status> {
        let answer = observe(Method::ListMeasurements, Protocol::Grpc, async {
            let query = MeasurementsQuery::try_from(request.into_inner())?;
            self.admin.list_measurements(query).await
        })
        .await?;
        let page = &answer.page;
        Ok(Response::new(v1::ListMeasurementsResponse {
            measurements: page.items.iter().cloned().map(Into::into).collect(),
            next_page_token: page.next_page_token.clone(),
        }))
    }

    async fn list_sensors(
        &self,
        request: Request<v1::ListSensorsRequest>,
    ) -> Result<Response<v1::ListSensorsResponse>, Status> {
        let page = observe(Method::ListSensors, Protocol::Grpc, async {
            let query = SensorsQuery::try_from(request.into_inner())?;
            self.admin.list_sensors(query).await
        })
        .await?;
        Ok(Response::new(v1::ListSensorsResponse {
            sensors: page.items.into_iter().map(sensor).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    type WatchMeasurementsStream = WatchStream;

    async fn watch_measurements(
        &self,
        request: Request<v1::WatchMeasurementsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let watch = observe(Method::WatchMeasurements, Protocol::Grpc, async {
            let query = WatchQuery::try_from(request.into_inner())?;
            self.admin.watch(query).await
        })
        .await?;
        let stream = watch.map(|item| {
            item.map(|saved| v1::WatchMeasurementsResponse {
                measurement: Some(saved.measurement.clone().into()),
                cursor: saved.position.encode(),
            })
            .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

fn sensor(row: SensorRow) -> v1::Sensor {
    v1::Sensor {
        sensor_id: row.latest.sensor_id.clone(),
        measurement_count: row.measurement_count as u64,
        latest: Some(sensorpipe::db::Measurement::from(row.latest).into()),
    }
}
