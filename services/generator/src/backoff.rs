//! How long to wait before the next attempt to open a stream.

use std::time::Duration;

use tonic::Status;

pub(crate) const FIRST_DELAY: Duration = Duration::from_millis(100);
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5);
/// A server's retry hint is honoured up to this long.
const MAX_HINT: Duration = Duration::from_secs(30);

/// Capped exponential backoff: 100 ms doubling to 5 s. It resets only when a stream makes
/// progress (an ack), not when one merely opens, so a server that accepts streams and then
/// fails them at once is not hammered.
#[derive(Debug)]
pub(crate) struct Backoff(sensorpipe::backoff::Backoff);

impl Default for Backoff {
    fn default() -> Self {
        Self(sensorpipe::backoff::Backoff::new(FIRST_DELAY, MAX_DELAY))
    }
}

impl Backoff {
    /// The delay before the next attempt, at least the server's hint when it sent one.
    pub(crate) fn next_delay(&mut self, status: Option<&Status>) -> Duration {
        let hint = status.and_then(retry_hint).unwrap_or_default();
        self.0.next_pause().max(hint.min(MAX_HINT))
    }

    pub(crate) fn reset(&mut self) {
        self.0.reset();
    }
}

/// gRPC's standard retry pushback (`grpc-retry-pushback-ms`), when the server sent one.
fn retry_hint(status: &Status) -> Option<Duration> {
    let value = status.metadata().get("grpc-retry-pushback-ms")?;
    let millis: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..8)
            .map(|_| backoff.next_delay(None).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(None), FIRST_DELAY);
    }

    #[test]
    fn honours_the_servers_hint() {
        let mut status = Status::unavailable("kafka down");
        status
            .metadata_mut()
            .insert("grpc-retry-pushback-ms", "1500".parse().unwrap());
        let mut backoff = Backoff::default();
        assert_eq!(
            backoff.next_delay(Some(&status)),
            Duration::from_millis(1500)
        );
    }
}
