//! A test client that waits for bus messages, every wait bounded by [`WAIT`](crate::WAIT).

use std::time::Duration;

use hearth_bus::{BusClient, BusConfig, Message};
use hearth_e2e::recorder::Recorder;

/// Subscribes to filters and waits for messages. The broker keeps order within a topic but not across
/// topics, so messages that arrive before the one awaited are kept for later calls (hearth-e2e's
/// [`Recorder`] does the keeping).
pub struct Probe {
    pub client: BusClient,
    recorder: Recorder,
}

impl Probe {
    /// Connects and subscribes to `filters` (`hearth/#` for everything); returns once the broker has
    /// the subscriptions in place, so whatever the test publishes next is seen.
    pub async fn new(bus: &BusConfig, filters: &[&str]) -> Probe {
        let mut recorder = Recorder::connect(bus, filters, crate::WAIT).await.expect("probe connects");
        confirm_subscriptions(&mut recorder).await;
        Probe { client: recorder.client.clone(), recorder }
    }

    /// The next `M` for which `pred` holds.
    pub async fn next<M: Message>(&mut self, pred: impl Fn(&M) -> bool) -> M {
        self.recorder.next(pred).await.unwrap_or_else(|e| panic!("{e}")).1
    }

    /// The next `M` on exactly `topic`.
    pub async fn next_on<M: Message>(&mut self, topic: &str, pred: impl Fn(&M) -> bool) -> M {
        let e = self.recorder.next_event(topic, |e| e.topic == topic && M::from_payload(&e.payload).is_ok_and(|m| pred(&m)));
        e.await.unwrap_or_else(|e| panic!("{e}")).envelope.decode::<M>().expect("matched above")
    }

    /// Everything of type `M` that arrives within `window` (and any already received).
    pub async fn collect<M: Message>(&mut self, window: Duration) -> Vec<M> {
        self.recorder.collect(window).await
    }
}

/// A message to the recorder itself on a topic of its own: the broker handles one client's packets in
/// order, so once it comes back every earlier subscription is in place. Messages that came before it
/// (retained ones) stay in the backlog.
async fn confirm_subscriptions(recorder: &mut Recorder) {
    let marker = marker_topic();
    recorder.client.subscribe(marker.clone()).await.expect("probe subscribes");
    recorder.client.publish_raw(marker.clone(), false, b"ready".to_vec()).await.expect("probe publishes");
    recorder.next_event("the probe's own marker", |e| e.topic == marker).await.unwrap_or_else(|e| panic!("{e}"));
}

/// A topic only one test client listens to, outside `hearth/` so no test's filter matches it.
pub(crate) fn marker_topic() -> String {
    format!("hearth-testkit/{}/ready", hearth_bus::ids::new_id())
}
