//! The lifecycle of one service process: connect, run, close.

use std::future::Future;

use hearth_bus::{Bus, BusError, Shutdown};
use thiserror::Error;
use tracing::{error, info};

use crate::config::NodeFile;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("{service} stopped with an error: {message}")]
    Service { service: String, message: String },
}

/// Runs one service: connects to the bus as `service`, calls `run(bus, shutdown)`, and when it returns
/// (after shutdown, or with an error) publishes `offline` and disconnects. SIGINT and SIGTERM trigger
/// shutdown. Under systemd it reports READY=1 once connected, pings the watchdog and reports
/// STOPPING=1 (see [`crate::systemd`]). A bus setting that cannot work is returned as an error before anything starts.
pub async fn serve<F, Fut, E>(file: &NodeFile, service: &str, run: F) -> Result<(), ServeError>
where
    F: FnOnce(Bus, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let shutdown = Shutdown::on_signals();
    let (bus, connection) = Bus::connect_starting(&file.node.bus, service, &file.node.site)?;
    info!(service, site = %file.node.site, broker = %file.node.bus.addr(), "starting");
    let systemd = crate::systemd::Systemd::start(&bus.client);
    let result = run(bus, shutdown).await;
    systemd.stopping();
    connection.close().await;
    match result {
        Ok(()) => {
            info!(service, "stopped");
            Ok(())
        }
        Err(e) => {
            error!(service, error = %e, "stopped with an error");
            Err(ServeError::Service { service: service.into(), message: e.to_string() })
        }
    }
}
