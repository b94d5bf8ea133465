//! `IngestService` over gRPC. The stream reads a batch only while fewer than the per-stream limit
//! are in flight, so a fast sender is slowed by HTTP/2 flow control instead of filling memory;
//! acks go out as Kafka confirms batches, in any order.

use std::{pin::Pin, sync::Arc};

use futures::{Stream, StreamExt, stream::FuturesUnordered};
use sensorpipe::{
    auth::Principal,
    proto::v1::{BatchAck, ReadingBatch, ingest_service_server::IngestService},
};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::{
    error::IngestError,
    ingestor::{Admission, Ingestor},
    metrics,
};

pub struct IngestGrpc {
    ingestor: Arc<Ingestor>,
    max_in_flight_batches: usize,
    admission: Admission,
    /// Turns true when the service shuts down: streams stop reading, drain, and end.
    stopping: watch::Receiver<bool>,
}

impl IngestGrpc {
    pub fn new(
        ingestor: Arc<Ingestor>,
        max_in_flight_batches: usize,
        admission: Admission,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Self {
            ingestor,
            max_in_flight_batches,
            admission,
            stopping,
        }
    }
}

type AckStream = Pin<Box<dyn Stream<Item = Result<BatchAck, Status>> + Send>>;

#[tonic::async_trait]
impl IngestService for IngestGrpc {
    type StreamReadingsStream = AckStream;

    async fn stream_readings(
        &self,
        request: Request<Streaming<ReadingBatch>>,
    ) -> Result<Response<AckStream>, Status> {
        // Room for every ack that can be pending, so the driver never waits on a slow reader
        // while holding finished work it could not report.
        let caller = Arc::new(caller(&request)?);
        let (acks, rx) = mpsc::channel(self.max_in_flight_batches + 1);
        let stream = StreamDriver {
            ingestor: self.ingestor.clone(),
            caller,
            limit: self.max_in_flight_batches,
            stopping: self.stopping.clone(),
            acks,
        };
        tokio::spawn(stream.run(request.into_inner()));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn send_readings(
        &self,
        request: Request<ReadingBatch>,
    ) -> Result<Response<BatchAck>, Status> {
        if *self.stopping.borrow() {
            return Err(IngestError::ShuttingDown.into());
        }
        let caller = caller(&request)?;
        let batch = request.into_inner();
        let ack = self
            .ingestor
            .ingest(batch.sequence, batch.readings, &caller, self.admission)
            .await?;
        Ok(Response::new(ack))
    }
}

/// Who is calling, as the auth guard in front of every call found it. Its absence is a wiring
/// bug, refused rather than taken as "anyone".
fn caller<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::internal("the call passed no auth check"))
}

/// One `StreamReadings` call: reads batches, publishes up to `limit` at once, sends their acks.
struct StreamDriver {
    ingestor: Arc<Ingestor>,
    caller: Arc<Principal>,
    limit: usize,
    stopping: watch::Receiver<bool>,
    acks: mpsc::Sender<Result<BatchAck, Status>>,
}

impl StreamDriver {
    #[tracing::instrument(name = "stream", skip_all)]
    async fn run(mut self, mut inbound: Streaming<ReadingBatch>) {
        metrics::OPEN_STREAMS.inc();
        let end = self.pump(&mut inbound).await;
        metrics::OPEN_STREAMS.dec();
        if let Some(status) = end {
            tracing::info!(code = ?status.code(), message = status.message(), "stream ended with an error");
            let _ = self.acks.send(Err(status)).await;
        }
    }

    /// Runs until the caller ends its side and every batch is answered (`None`), or until an
    /// error ends the call (`Some(status)`, sent after every ack that could still be given).
    async fn pump(&mut self, inbound: &mut Streaming<ReadingBatch>) -> Option<Status> {
        let mut in_flight = FuturesUnordered::new();
        let mut end: Option<Status> = None;
        let mut reading = true;
        loop {
            let room = in_flight.len() < self.limit;
            tokio::select! {
                biased;
                Some(result) = in_flight.next() => {
                    metrics::IN_FLIGHT_BATCHES.dec();
                    match result {
                        Ok(ack) => {
                            if self.acks.send(Ok(ack)).await.is_err() {
                                return None; // the caller is gone; nobody to answer
                            }
                        }
                        Err(error) => {
                            // Stop taking batches; finish and ack the others, then end.
                            reading = false;
                            end.get_or_insert(Status::from(error));
                        }
                    }
                }
                changed = self.stopping.changed(), if reading => {
                    if changed.is_err() || *self.stopping.borrow() {
                        reading = false;
                        end.get_or_insert(IngestError::ShuttingDown.into());
                    }
                }
                next = inbound.message(), if reading && room => match next {
                    Ok(Some(batch)) => {
                        metrics::IN_FLIGHT_BATCHES.inc();
                        let ingestor = self.ingestor.clone();
                        let caller = self.caller.clone();
                        in_flight.push(async move {
                            ingestor
                                .ingest(batch.sequence, batch.readings, &caller, Admission::Wait)
                                .await
                        });
                    }
                    Ok(None) => reading = false,
                    // A malformed message (INTERNAL, as gRPC specifies for parse errors) or a
                    // broken connection: answer what is in flight, then end with that status.
                    Err(status) => {
                        reading = false;
                        end.get_or_insert(status);
                    }
                },
                else => return end,
            }
        }
    }
}
