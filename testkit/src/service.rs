//! Services started in-process for a test, ready when they say so.

use std::future::Future;

use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::{Bus, BusConfig, Shutdown};
use tokio::task::JoinHandle;

use crate::WAIT;

/// The status a service under test carries until its own `run` sets one: a service sets `online` after
/// subscribing to everything, so its first own status means it is ready for the test's messages.
const STARTING: &str = "starting (hearth-testkit)";

/// A service running in this process; `stop` shuts it down and waits for it.
pub struct RunningService {
    pub shutdown: Shutdown,
    task: JoinHandle<()>,
}

impl RunningService {
    pub async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(WAIT, self.task).await.expect("service stops in time").expect("service task");
    }
}

/// Starts `run(bus, shutdown)` as `service` at `site` and returns once its retained status says
/// `online`; panics with the status it published instead (an `unavailable` with its reason).
pub async fn start_service<F, Fut, E>(bus: &BusConfig, service: &str, site: &str, run: F) -> RunningService
where
    F: FnOnce(Bus, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Debug + Send + 'static,
{
    let (running, status) = start_service_reporting(bus, service, site, run).await;
    assert_eq!(status.state, ServiceState::Online, "{service} did not come online: {status:?}");
    running
}

/// Starts `run(bus, shutdown)` as `service` at `site` and returns with the first status the service
/// itself publishes (for services that may start `unavailable`).
pub async fn start_service_reporting<F, Fut, E>(bus: &BusConfig, service: &str, site: &str, run: F) -> (RunningService, ServiceStatus)
where
    F: FnOnce(Bus, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Debug + Send + 'static,
{
    let topic = status_topic(site, service);
    let (watch, watch_connection) = Bus::connect_tool(bus, "testkit-watch", site).expect("watcher connects");
    let Bus { client: watcher, inbox: mut statuses } = watch;
    watcher.wait_connected(WAIT).await.expect("watcher connected");
    watcher.subscribe(topic.clone()).await.expect("watcher subscribes");
    let marker = crate::probe::marker_topic();
    watcher.subscribe(marker.clone()).await.expect("watcher subscribes");
    watcher.publish_raw(marker.clone(), false, Vec::new()).await.expect("watcher publishes");
    // Everything before the marker (a status an earlier run retained) is passed over.
    statuses.next_matching(WAIT, |e| e.topic == marker).await.expect("the watcher's subscriptions are in place");

    let shutdown = Shutdown::new();
    let (b, connection) = Bus::connect(bus, service, site).expect("bus connects");
    b.client.set_status(ServiceState::Unavailable, Some(STARTING.into())).await.expect("status set");
    b.client.wait_connected(WAIT).await.expect("service connected");
    let s = shutdown.clone();
    let task = tokio::spawn(async move {
        run(b, s).await.expect("service ran");
        connection.close().await;
    });
    // One topic keeps its order: the placeholder (once or twice), then the service's own status.
    let own = |e: &hearth_bus::Envelope| {
        e.topic == topic && e.decode::<ServiceStatus>().is_some_and(|s| s.detail.as_deref() != Some(STARTING))
    };
    let envelope = statuses.next_matching(WAIT, own).await;
    watch_connection.close().await;
    let status = envelope
        .and_then(|e| e.decode::<ServiceStatus>())
        .unwrap_or_else(|| panic!("{service} published no status of its own within {WAIT:?}"));
    (RunningService { shutdown, task }, status)
}
