//! Every bus message with the moment it arrived: the stage boundaries of a turn are read from here.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use hearth_bus::{Bus, BusConfig, Connection, Envelope, Message};
use tokio::sync::mpsc;

/// One message as it arrived.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: Instant,
    pub envelope: Envelope,
}

/// Subscribes to bus topics and hands out events in arrival order per topic. The broker keeps order
/// within a topic, not across topics, so events passed over while waiting for another stay in a backlog
/// for later calls.
pub struct Recorder {
    pub client: hearth_bus::BusClient,
    events: mpsc::UnboundedReceiver<Event>,
    backlog: Vec<Event>,
    /// How long [`Recorder::next`] waits before giving up.
    pub wait: Duration,
    _connection: Connection,
}

impl Recorder {
    /// Connects and subscribes to `filters` (`hearth/#` for everything).
    pub async fn connect(bus: &BusConfig, filters: &[&str], wait: Duration) -> anyhow::Result<Recorder> {
        let (b, connection) = Bus::connect_tool(bus, "e2e-recorder", "default")?;
        b.client.wait_connected(wait).await.context("the recorder cannot reach the broker")?;
        for filter in filters {
            b.client.subscribe(*filter).await?;
        }
        let (tx, events) = mpsc::unbounded_channel();
        let mut inbox = b.inbox;
        // Stamp arrivals in their own task so a slow consumer does not shift the times.
        tokio::spawn(async move {
            while let Some(envelope) = inbox.recv().await {
                // Microphone frames (50 a second) mark no stage boundary; keeping them would only grow
                // the backlog.
                if envelope.topic.ends_with("/audio/frame") {
                    continue;
                }
                if tx.send(Event { at: Instant::now(), envelope }).is_err() {
                    return;
                }
            }
        });
        Ok(Recorder { client: b.client, events, backlog: Vec::new(), wait, _connection: connection })
    }

    /// The next event for which `pred` holds, backlog first.
    pub async fn next_event(&mut self, what: &str, pred: impl Fn(&Envelope) -> bool) -> anyhow::Result<Event> {
        if let Some(i) = self.backlog.iter().position(|e| pred(&e.envelope)) {
            return Ok(self.backlog.remove(i));
        }
        let (events, backlog) = (&mut self.events, &mut self.backlog);
        tokio::time::timeout(self.wait, async {
            loop {
                let e = events.recv().await.ok_or_else(|| anyhow!("the recorder's connection closed"))?;
                if pred(&e.envelope) {
                    return Ok(e);
                }
                backlog.push(e);
            }
        })
        .await
        .map_err(|_| anyhow!("no {what} within {:?}", self.wait))?
    }

    /// The next `M` for which `pred` holds, with its arrival time.
    pub async fn next<M: Message>(&mut self, pred: impl Fn(&M) -> bool) -> anyhow::Result<(Instant, M)> {
        let e = self
            .next_event(M::SUFFIX, |e| e.is::<M>() && M::from_payload(&e.payload).is_ok_and(|m| pred(&m)))
            .await?;
        let m = e.envelope.decode::<M>().ok_or_else(|| anyhow!("{} stopped decoding", M::SUFFIX))?;
        Ok((e.at, m))
    }

    /// Every `M` that arrives within `window`, after those already received (which it consumes, with
    /// everything else received so far).
    pub async fn collect<M: Message>(&mut self, window: Duration) -> Vec<M> {
        let mut out: Vec<M> = std::mem::take(&mut self.backlog).iter().filter_map(|e| e.envelope.decode::<M>()).collect();
        let until = tokio::time::Instant::now() + window;
        while let Ok(Some(e)) = tokio::time::timeout_at(until, self.events.recv()).await {
            out.extend(e.envelope.decode::<M>());
        }
        out
    }

    /// The newest `M` received so far, if any (everything received moves to the backlog).
    pub fn latest<M: Message>(&mut self) -> Option<M> {
        while let Ok(e) = self.events.try_recv() {
            self.backlog.push(e);
        }
        self.backlog.iter().rev().find_map(|e| e.envelope.decode::<M>())
    }

    /// The first `M` received so far for which `pred` holds, with its arrival time, without waiting
    /// (it is taken out of the backlog).
    pub fn received<M: Message>(&mut self, pred: impl Fn(&M) -> bool) -> Option<(Instant, M)> {
        while let Ok(e) = self.events.try_recv() {
            self.backlog.push(e);
        }
        let i = self.backlog.iter().position(|e| e.envelope.decode::<M>().is_some_and(|m| pred(&m)))?;
        let e = self.backlog.remove(i);
        e.envelope.decode::<M>().map(|m| (e.at, m))
    }

    /// Drops the events received so far for which `pred` holds, keeping the rest.
    pub fn discard(&mut self, pred: impl Fn(&Envelope) -> bool) {
        while let Ok(e) = self.events.try_recv() {
            self.backlog.push(e);
        }
        self.backlog.retain(|e| !pred(&e.envelope));
    }

    /// Drops everything received so far (retained messages, earlier turns).
    pub fn clear(&mut self) {
        self.backlog.clear();
        while self.events.try_recv().is_ok() {}
    }
}
