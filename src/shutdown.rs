//! Shutdown in one place: which signals stop a service, and how long it may drain.

use std::{future::Future, time::Duration};

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (docker stop, kill). Services pass it to their
/// `run_until_stopped`, tests pass their own future instead.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Runs `drain` for at most `grace`; `None` means it was cut off. Keeps a stuck drain from
/// turning a stop into a hang.
pub async fn with_grace<F: Future>(grace: Duration, drain: F) -> Option<F::Output> {
    match tokio::time::timeout(grace, drain).await {
        Ok(output) => Some(output),
        Err(_) => {
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "drain cut off after the grace period"
            );
            None
        }
    }
}
