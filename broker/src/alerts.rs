//! rumqttd raises a `cursor_jump` alert when a client's read cursor was in a log segment that the
//! log has since dropped: the client read more slowly than its subscription's log could hold, so the
//! router moved it to the oldest message still kept and the ones in between are lost for that client.
//! This module logs and counts those skips; rumqttd itself only pushes alerts to whoever asks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing::warn;

/// Seconds between two pushes of rumqttd's alerts (its smallest interval).
pub(crate) const PUSH_INTERVAL_S: u64 = 1;

/// Total skips since the broker started.
#[derive(Debug, Default)]
pub(crate) struct SkipCounter(AtomicU64);

impl SkipCounter {
    pub(crate) fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Starts the named thread that receives `broker`'s alerts and counts the skips into `counter`.
/// Needs the alerts timer that [`crate::BrokerConfig::to_rumqttd`] enables.
pub(crate) fn watch(broker: &rumqttd::Broker, counter: Arc<SkipCounter>) {
    let link = match broker.alerts() {
        Ok(link) => link,
        Err(error) => {
            warn!(%error, "cannot watch the broker's alerts: slow clients' skips will not be counted");
            return;
        }
    };
    let spawned = std::thread::Builder::new().name("broker-alerts".into()).spawn(move || {
        // Ends when the router drops the link, which only happens with the process.
        while let Ok(alerts) = link.router_rx.recv() {
            for alert in alerts.iter().filter(|a| a.kind.name() == "cursor_jump") {
                let total = counter.0.fetch_add(1, Ordering::Relaxed) + 1;
                warn!(
                    client = %alert.client_id,
                    detail = %alert.kind.description(),
                    total,
                    "a client fell behind its subscription's log and skipped ahead: its backlog was dropped"
                );
            }
        }
    });
    if let Err(error) = spawned {
        warn!(%error, "cannot start the broker's alert thread: slow clients' skips will not be counted");
    }
}
