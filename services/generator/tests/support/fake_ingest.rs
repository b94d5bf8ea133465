//! A stand-in for the ingest process in client tests: a real tonic server on 127.0.0.1:0 that
//! implements only `StreamReadings`, validates like ingest, and misbehaves on a script: stop
//! acking, end a stream with a status, end it early. It records everything it received, and
//! reports progress through a watch channel so tests wait on signals, not sleeps.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use generator::signal::{micros_from_timestamp, now_micros};
use sensorpipe::proto::v1::{
    BatchAck, ReadingBatch, ReadingReject,
    ingest_service_server::{IngestService, IngestServiceServer},
};
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
    task::JoinHandle,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming, transport::server::TcpIncoming};

use super::rules;

/// How one stream behaves; streams past the end of the script ack everything.
#[derive(Debug, Clone, Default)]
pub struct StreamScript {
    /// Ack only this many batches; hold the acks of later ones until [`FakeIngest::release`].
    pub ack_first: Option<usize>,
    /// After receiving this many batches, end the stream.
    pub end_after: Option<(usize, Ending)>,
}

#[derive(Debug, Clone)]
pub enum Ending {
    /// End with this status (e.g. `UNAVAILABLE`).
    Status(tonic::Code),
    /// End with OK while batches are unacked.
    Early,
}

/// What the fake saw, for assertions.
#[derive(Debug, Default)]
pub struct Record {
    pub streams: usize,
    pub batches: usize,
    pub readings: usize,
    /// Times each valid reading identity `(sensor_id, measured_at µs)` arrived.
    pub identities: HashMap<(String, i64), u32>,
    /// Each sequence number's readings, to check resends carry the same batch.
    pub by_sequence: HashMap<u64, ReadingBatch>,
    pub resends_differing: usize,
    /// Valid readings whose `measured_at` was after the moment they arrived.
    pub from_the_future: usize,
    pub rejected: usize,
    /// Most batches received and not yet acked on one stream at any moment.
    pub max_unacked: usize,
    /// Streams the client closed cleanly (end of request stream).
    pub closed_by_client: usize,
}

#[derive(Clone)]
pub struct FakeIngest {
    script: Arc<Vec<StreamScript>>,
    record: Arc<Mutex<Record>>,
    /// Batches received so far, for tests to wait on.
    received: watch::Sender<usize>,
    released: watch::Sender<bool>,
    /// Ack without validating or recording readings: for measuring the generator, not checking it.
    lean: bool,
}

/// A running fake; the server stops when this is dropped.
pub struct Running {
    pub fake: FakeIngest,
    pub addr: std::net::SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl FakeIngest {
    pub fn new(script: Vec<StreamScript>) -> Self {
        Self {
            script: Arc::new(script),
            record: Arc::default(),
            received: watch::channel(0).0,
            released: watch::channel(false).0,
            lean: false,
        }
    }

    /// Acks everything at once and records only counts.
    pub fn lean() -> Self {
        Self {
            lean: true,
            ..Self::new(vec![])
        }
    }

    pub async fn start(self) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = IngestServiceServer::new(self.clone());
        let server = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpIncoming::from(listener))
                .await
                .unwrap();
        });
        Running {
            fake: self,
            addr,
            server,
        }
    }

    pub fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap()
    }

    /// Resolves once at least `n` batches have arrived (over all streams).
    pub async fn wait_for_batches(&self, n: usize) {
        let mut received = self.received.subscribe();
        received.wait_for(|&got| got >= n).await.unwrap();
    }

    /// Sends the held acks, and acks everything from now on.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Validates the batch like ingest and records it; returns its ack.
    fn receive(&self, batch: &ReadingBatch) -> BatchAck {
        let now = now_micros();
        let mut record = self.record();
        record.batches += 1;
        record.readings += batch.readings.len();
        if self.lean {
            return BatchAck {
                sequence: batch.sequence,
                accepted: batch.readings.len() as u32,
                rejects: vec![],
            };
        }
        let mut rejects = Vec::new();
        for (index, reading) in batch.readings.iter().enumerate() {
            if let Some(reason) = rules::violations(reading, now).first() {
                rejects.push(ReadingReject {
                    index: index as u32,
                    reason: *reason as i32,
                    field: String::new(),
                    message: format!("{reason:?}"),
                });
                continue;
            }
            let at = micros_from_timestamp(reading.measured_at.as_ref().unwrap());
            if at > now {
                record.from_the_future += 1;
            }
            *record
                .identities
                .entry((reading.sensor_id.clone(), at))
                .or_default() += 1;
        }
        record.rejected += rejects.len();
        match record.by_sequence.get(&batch.sequence) {
            Some(earlier) if format!("{earlier:?}") != format!("{batch:?}") => {
                record.resends_differing += 1
            }
            Some(_) => {}
            None => {
                record.by_sequence.insert(batch.sequence, batch.clone());
            }
        }
        BatchAck {
            sequence: batch.sequence,
            accepted: (batch.readings.len() - rejects.len()) as u32,
            rejects,
        }
    }

    async fn serve_stream(
        self,
        index: usize,
        mut incoming: Streaming<ReadingBatch>,
        acks: mpsc::Sender<Result<BatchAck, Status>>,
    ) {
        let script = self.script.get(index).cloned().unwrap_or_default();
        let mut released = self.released.subscribe();
        let mut held = Vec::new();
        let (mut received, mut acked) = (0, 0);
        loop {
            let batch = tokio::select! {
                message = incoming.message() => message,
                true = wait_released(&mut released), if !held.is_empty() => {
                    for ack in held.drain(..) {
                        let _ = acks.send(Ok(ack)).await;
                        acked += 1;
                    }
                    continue;
                }
            };
            let batch = match batch {
                Ok(Some(batch)) => batch,
                Ok(None) => {
                    self.record().closed_by_client += 1;
                    return;
                }
                Err(_) => return,
            };
            let ack = self.receive(&batch);
            received += 1;
            let holding =
                script.ack_first.is_some_and(|first| received > first) && !*self.released.borrow();
            if holding {
                held.push(ack);
            } else {
                let _ = acks.send(Ok(ack)).await;
                acked += 1;
            }
            {
                let mut record = self.record();
                record.max_unacked = record.max_unacked.max(received - acked);
            }
            self.received.send_modify(|n| *n += 1);
            if let Some((after, ending)) = &script.end_after
                && received >= *after
            {
                if let Ending::Status(code) = ending {
                    let _ = acks.send(Err(Status::new(*code, "scripted failure"))).await;
                }
                return;
            }
        }
    }
}

async fn wait_released(released: &mut watch::Receiver<bool>) -> bool {
    released.wait_for(|&r| r).await.is_ok()
}

#[tonic::async_trait]
impl IngestService for FakeIngest {
    type StreamReadingsStream = ReceiverStream<Result<BatchAck, Status>>;

    async fn stream_readings(
        &self,
        request: Request<Streaming<ReadingBatch>>,
    ) -> Result<Response<Self::StreamReadingsStream>, Status> {
        let index = {
            let mut record = self.record();
            record.streams += 1;
            record.streams - 1
        };
        let (acks, outgoing) = mpsc::channel(1024);
        tokio::spawn(self.clone().serve_stream(index, request.into_inner(), acks));
        Ok(Response::new(ReceiverStream::new(outgoing)))
    }

    async fn send_readings(
        &self,
        request: Request<ReadingBatch>,
    ) -> Result<Response<BatchAck>, Status> {
        Ok(Response::new(self.receive(&request.into_inner())))
    }
}
