//! The state of the connection to ingest, and the one event it yields at a time.
//!
//! A single `StreamReadings` call is the link while it lasts. Keeping the states in one enum lets
//! the client loop wait on "whatever the link does next" next to new batches and Ctrl-C, so
//! generating (into the bounded unacked buffer) goes on while reconnecting.

use std::time::Duration;

use sensorpipe::proto::v1::{BatchAck, ReadingBatch, ingest_service_client::IngestServiceClient};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming, transport::Channel};

use crate::target::Target;

/// Longest wait for a connection plus the server's response headers.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the server to end the call after the last ack and our end of stream.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// An open `StreamReadings` call.
pub(crate) struct Stream {
    /// Batches to send; dropping it ends the request stream.
    pub(crate) requests: mpsc::Sender<ReadingBatch>,
    responses: Streaming<BatchAck>,
    /// Keeps the connection alive as long as the call.
    channel: Channel,
}

pub(crate) enum Link {
    /// Waiting to (re)open a stream.
    Down {
        retry_at: Instant,
    },
    Opening(OpenTask),
    Up(Stream),
    /// Everything is acked and our side is closed; waiting for the server to end the call.
    Closing {
        responses: Streaming<BatchAck>,
        deadline: Instant,
        _channel: Channel,
    },
}

pub(crate) enum LinkEvent {
    RetryDue,
    Opened(Box<Stream>),
    OpenFailed(Status),
    Ack(BatchAck),
    /// The stream failed or the server ended it early; unacked batches need a new one.
    Lost(Status),
    /// The call ended after we closed our side (or the server took too long to end it).
    Closed,
}

impl Link {
    /// Starts opening a stream whose request channel holds up to `capacity` batches.
    pub(crate) fn open(target: &Target, capacity: usize) -> Self {
        let target = target.clone();
        Link::Opening(OpenTask(tokio::spawn(async move {
            tokio::time::timeout(OPEN_TIMEOUT, open(target, capacity))
                .await
                .unwrap_or_else(|_| Err(Status::unavailable("timed out opening a stream")))
        })))
    }

    /// Ends our side of the call (the server then ends its side), keeping the responses to see
    /// the end.
    pub(crate) fn close(self) -> Self {
        match self {
            Link::Up(stream) => Link::Closing {
                responses: stream.responses,
                deadline: Instant::now() + CLOSE_TIMEOUT,
                _channel: stream.channel,
            },
            other => other,
        }
    }

    /// What the link does next. Cancel-safe: the client loop drops this future whenever another
    /// event wins, and nothing is lost.
    pub(crate) async fn next_event(&mut self) -> LinkEvent {
        match self {
            Link::Down { retry_at } => {
                tokio::time::sleep_until(*retry_at).await;
                LinkEvent::RetryDue
            }
            Link::Opening(task) => match (&mut task.0).await {
                Ok(Ok(stream)) => LinkEvent::Opened(Box::new(stream)),
                Ok(Err(status)) => LinkEvent::OpenFailed(status),
                Err(error) => LinkEvent::OpenFailed(Status::internal(format!(
                    "opening a stream failed: {error}"
                ))),
            },
            Link::Up(stream) => match stream.responses.message().await {
                Ok(Some(ack)) => LinkEvent::Ack(ack),
                Ok(None) => LinkEvent::Lost(Status::unavailable(
                    "ingest ended the stream before every batch was acked",
                )),
                Err(status) => LinkEvent::Lost(status),
            },
            Link::Closing {
                responses,
                deadline,
                ..
            } => {
                tokio::select! {
                    message = responses.message() => match message {
                        Ok(Some(ack)) => LinkEvent::Ack(ack),
                        Ok(None) => LinkEvent::Closed,
                        Err(status) => {
                            tracing::debug!(%status, "stream ended with an error after the last ack");
                            LinkEvent::Closed
                        }
                    },
                    () = tokio::time::sleep_until(*deadline) => {
                        tracing::debug!("ingest did not end the call in time; leaving it");
                        LinkEvent::Closed
                    }
                }
            }
        }
    }
}

/// Opening runs as a task so a slow connect never blocks the client loop; a link given up while
/// opening must not leave it behind.
pub(crate) struct OpenTask(JoinHandle<Result<Stream, Status>>);

impl Drop for OpenTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn open(target: Target, capacity: usize) -> Result<Stream, Status> {
    let channel = target
        .endpoint
        .connect()
        .await
        .map_err(|error| Status::unavailable(target.connect_error(&chain(&error))))?;
    let (requests, outgoing) = mpsc::channel(capacity);
    let mut request = tonic::Request::new(ReceiverStream::new(outgoing));
    if let Some(authorization) = target.authorization {
        request
            .metadata_mut()
            .insert("authorization", authorization);
    }
    let responses = IngestServiceClient::new(channel.clone())
        .stream_readings(request)
        .await?
        .into_inner();
    Ok(Stream {
        requests,
        responses,
        channel,
    })
}

/// An error and its causes on one line: tonic's transport errors say little on their own.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    let mut last = text.clone();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Wrappers often repeat their cause's text; once is enough.
        if cause_text != last {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        last = cause_text;
        source = cause.source();
    }
    text
}
