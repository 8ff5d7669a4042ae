//! The one MQTT client wrapper. It owns the single reconnect loop of the project: keep polling
//! rumqttc's event loop (polling is what reconnects), resubscribe and republish the service status on
//! every ConnAck, back off by doubling to a cap while the broker is away.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Outgoing, Packet, QoS};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::codec::{count_dropped, Encoding, Message};
use crate::error::BusError;
use crate::ids::{new_id, now_ms};
use crate::service::{info_topic, status_topic, ServiceInfo, ServiceState, ServiceStatus, STARTING};
use crate::topic;

/// How to reach the broker. One per node file, shared by every service on the node.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// Broker host. Use the mDNS name (`master.local`) on a cluster, never a fixed IP.
    pub host: String,
    /// Broker MQTT 3.1.1 port.
    pub port: u16,
    /// User name, when the broker asks for one.
    pub username: Option<String>,
    /// Password for `username`. Never printed.
    pub password: Option<String>,
    /// Largest MQTT packet sent or accepted, bytes. Must hold a whole utterance (30 s of 16 kHz s16 is
    /// 960 KiB), so the default is 4 MiB; the broker's limit must be at least as large.
    pub max_packet_bytes: usize,
    /// MQTT keep-alive, seconds.
    pub keep_alive_s: u64,
    /// Send each message at once rather than letting the kernel hold a small write back until the
    /// previous one is acknowledged (Nagle's algorithm). On by default: audio frames are small, 50 a
    /// second, and a held-back frame waits for the broker's delayed ACK (tens of milliseconds).
    pub tcp_nodelay: bool,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 1883,
            username: None,
            password: None,
            max_packet_bytes: 4 * 1024 * 1024,
            keep_alive_s: 15,
            tcp_nodelay: true,
        }
    }
}

impl fmt::Debug for BusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("max_packet_bytes", &self.max_packet_bytes)
            .field("keep_alive_s", &self.keep_alive_s)
            .field("tcp_nodelay", &self.tcp_nodelay)
            .finish()
    }
}

impl BusConfig {
    pub fn validate(&self) -> Result<(), BusError> {
        if self.host.trim().is_empty() {
            return Err(BusError::Config { key: "bus.host", why: "must not be empty".into() });
        }
        if self.port == 0 {
            return Err(BusError::Config { key: "bus.port", why: "must be 1 to 65535".into() });
        }
        if self.max_packet_bytes < 64 * 1024 {
            return Err(BusError::Config { key: "bus.max_packet_bytes", why: "must be at least 65536".into() });
        }
        if self.keep_alive_s == 0 {
            return Err(BusError::Config { key: "bus.keep_alive_s", why: "must be at least 1".into() });
        }
        if self.username.is_some() != self.password.is_some() {
            return Err(BusError::Config { key: "bus.password", why: "username and password go together".into() });
        }
        Ok(())
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One received MQTT message.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Envelope {
    /// The site of a `hearth/<site>/…` topic.
    pub fn site(&self) -> Option<&str> {
        topic::split(&self.topic).map(|(site, _)| site)
    }

    /// The part after `hearth/<site>/`.
    pub fn suffix(&self) -> Option<&str> {
        topic::split(&self.topic).map(|(_, suffix)| suffix)
    }

    /// Whether this envelope is on a topic of message type `M`.
    pub fn is<M: Message>(&self) -> bool {
        self.suffix().is_some_and(M::matches)
    }

    /// Decodes the payload as `M` when the topic is `M`'s. A payload that does not decode is logged
    /// with its topic, counted, and dropped (`None`): bad input never stops a service.
    pub fn decode<M: Message>(&self) -> Option<M> {
        if !self.is::<M>() {
            return None;
        }
        match M::from_payload(&self.payload) {
            Ok(m) => Some(m),
            Err(error) => {
                let dropped = count_dropped(&self.topic);
                warn!(topic = %self.topic, bytes = self.payload.len(), dropped, %error, "dropping bad payload");
                None
            }
        }
    }
}

/// Received messages of one connection, in arrival order.
pub struct Inbox {
    rx: mpsc::Receiver<Envelope>,
}

impl Inbox {
    pub async fn recv(&mut self) -> Option<Envelope> {
        self.rx.recv().await
    }

    /// The next envelope for which `pred` holds, skipping the others; `None` when `within` passes first
    /// or the connection is gone. How tools and tests wait for one reply; services loop on `recv`.
    pub async fn next_matching(&mut self, within: Duration, pred: impl Fn(&Envelope) -> bool) -> Option<Envelope> {
        let wait = async {
            while let Some(e) = self.rx.recv().await {
                if pred(&e) {
                    return Some(e);
                }
            }
            None
        };
        tokio::time::timeout(within, wait).await.ok().flatten()
    }
}

/// The state the reconnect loop re-publishes after each ConnAck.
struct Presence {
    /// Every filter subscribed so far, with the QoS it was asked at.
    filters: Vec<(String, QoS)>,
    status: ServiceStatus,
    info: ServiceInfo,
    /// The status (state and detail) last published on the current connection; `None` while not
    /// connected. A status is published once per connection and again only when it changes.
    published: Option<(ServiceState, Option<String>)>,
}

/// The cloneable sending half: publish, subscribe, status.
#[derive(Clone)]
pub struct BusClient {
    client: AsyncClient,
    service: Arc<str>,
    site: Arc<str>,
    presence: Arc<Mutex<Presence>>,
    connected: watch::Receiver<bool>,
    addr: Arc<str>,
    /// Whether this client publishes a retained status and info (services do, tools do not).
    announce: bool,
}

/// A connected service: its client and its inbox. Handed to a service's `run`.
pub struct Bus {
    pub client: BusClient,
    pub inbox: Inbox,
}

/// The running connection behind a [`Bus`]; kept by whoever started it, to close it cleanly.
pub struct Connection {
    client: BusClient,
    task: JoinHandle<()>,
}

/// Depth of the inbox. At 50 audio frames a second this is over a minute of audio.
const INBOX_CAPACITY: usize = 4096;
/// Depth of rumqttc's request queue.
const REQUEST_CAPACITY: usize = 4096;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(5);

impl Bus {
    /// Starts the connection for `service` at `site`. Returns at once; the connection comes up in the
    /// background (use [`BusClient::wait_connected`] to wait for it).
    pub fn connect(config: &BusConfig, service: &str, site: &str) -> Result<(Bus, Connection), BusError> {
        let online = ServiceStatus { state: ServiceState::Online, detail: None, timestamp_ms: now_ms() };
        Self::connect_with(config, service, site, Some(online))
    }

    /// Like [`Bus::connect`] for a service that is not ready yet: until it calls
    /// [`BusClient::set_status`], its retained status says `unavailable` with the detail
    /// [`STARTING`]. Without this, a service that connects before it has loaded its model would
    /// briefly claim to be online.
    pub fn connect_starting(config: &BusConfig, service: &str, site: &str) -> Result<(Bus, Connection), BusError> {
        let starting = ServiceStatus { state: ServiceState::Unavailable, detail: Some(STARTING.into()), timestamp_ms: now_ms() };
        Self::connect_with(config, service, site, Some(starting))
    }

    /// Like [`Bus::connect`] for short-lived tools (`hearth say`, `hearth tap`, tests): no retained
    /// status, info or last will, so they leave nothing behind on the broker.
    pub fn connect_tool(config: &BusConfig, name: &str, site: &str) -> Result<(Bus, Connection), BusError> {
        Self::connect_with(config, name, site, None)
    }

    /// `initial`: the status announced on connecting; `None` for tools, which announce nothing.
    fn connect_with(config: &BusConfig, service: &str, site: &str, initial: Option<ServiceStatus>) -> Result<(Bus, Connection), BusError> {
        let presence = initial.is_some();
        config.validate()?;
        topic::validate_site(site).map_err(|why| BusError::Config { key: "site", why })?;
        let client_id = format!("hearth-{service}-{site}-{}", &new_id()[..6]);
        let mut options = MqttOptions::new(client_id, config.host.clone(), config.port);
        options
            .set_keep_alive(Duration::from_secs(config.keep_alive_s))
            .set_max_packet_size(config.max_packet_bytes, config.max_packet_bytes)
            .set_clean_session(true);
        if let (Some(u), Some(p)) = (&config.username, &config.password) {
            options.set_credentials(u.clone(), p.clone());
        }
        if presence {
            let offline = ServiceStatus { state: ServiceState::Offline, detail: None, timestamp_ms: 0 };
            options.set_last_will(LastWill::new(
                status_topic(site, service),
                offline.to_payload()?,
                QoS::AtLeastOnce,
                true,
            ));
        }
        let presence_flag = presence;
        let (client, mut eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
        let mut network = eventloop.network_options();
        network.set_tcp_nodelay(config.tcp_nodelay);
        eventloop.set_network_options(network);
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        let (connected_tx, connected) = watch::channel(false);
        let presence = Arc::new(Mutex::new(Presence {
            filters: Vec::new(),
            status: initial.unwrap_or(ServiceStatus { state: ServiceState::Offline, detail: None, timestamp_ms: 0 }),
            info: ServiceInfo {
                service: service.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                capabilities: Vec::new(),
                host: hostname(),
            },
            published: None,
        }));
        let bus_client = BusClient {
            client: client.clone(),
            service: service.into(),
            site: site.into(),
            presence: presence.clone(),
            connected,
            addr: config.addr().into(),
            announce: presence_flag,
        };
        let task = tokio::spawn(
            ReconnectLoop {
                eventloop,
                client,
                inbox: tx,
                connected: connected_tx,
                presence,
                site: site.into(),
                service: service.into(),
                announce: presence_flag,
            }
                .run(),
        );
        let connection = Connection { client: bus_client.clone(), task };
        Ok((Bus { client: bus_client, inbox: Inbox { rx } }, connection))
    }
}

impl Connection {
    /// Publishes `offline`, disconnects cleanly and waits (briefly) for the connection to end.
    pub async fn close(self) {
        if self.client.announce {
            let offline = ServiceStatus { state: ServiceState::Offline, detail: None, timestamp_ms: now_ms() };
            let topic = status_topic(&self.client.site, &self.client.service);
            if let Ok(payload) = offline.to_payload() {
                let _ = self.client.client.try_publish(topic, QoS::AtLeastOnce, true, payload);
            }
        }
        let _ = self.client.client.try_disconnect();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task).await.is_err() {
            task.abort();
        }
    }
}

struct ReconnectLoop {
    eventloop: rumqttc::EventLoop,
    client: AsyncClient,
    inbox: mpsc::Sender<Envelope>,
    connected: watch::Sender<bool>,
    presence: Arc<Mutex<Presence>>,
    site: String,
    service: String,
    announce: bool,
}

impl ReconnectLoop {
    async fn run(mut self) {
        let mut backoff = BACKOFF_START;
        let mut refused_logged = false;
        loop {
            match self.eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = BACKOFF_START;
                    info!(service = %self.service, "connected to broker");
                    self.announce();
                    let _ = self.connected.send(true);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let envelope = Envelope { topic: p.topic, payload: p.payload.to_vec(), retain: p.retain };
                    if let Err(mpsc::error::TrySendError::Full(e)) = self.inbox.try_send(envelope) {
                        let dropped = count_dropped(&e.topic);
                        warn!(topic = %e.topic, dropped, "inbox full, dropping message");
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                    debug!(service = %self.service, "disconnected");
                    break;
                }
                Ok(_) => {}
                Err(rumqttc::ConnectionError::RequestsDone) => break,
                Err(rumqttc::ConnectionError::ConnectionRefused(code)) => {
                    // Wrong credentials do not fix themselves: say so loudly, but keep trying in case the
                    // broker's users are being changed.
                    if !refused_logged {
                        tracing::error!(service = %self.service, ?code, "the broker refused the connection: check bus.username and bus.password against [broker.users]");
                        refused_logged = true;
                    }
                    let _ = self.connected.send(false);
                    tokio::time::sleep(BACKOFF_CAP).await;
                }
                Err(error) => {
                    if *self.connected.borrow() {
                        warn!(service = %self.service, %error, "lost the broker, reconnecting");
                    } else {
                        debug!(service = %self.service, %error, ?backoff, "broker not reachable yet");
                    }
                    let _ = self.connected.send(false);
                    self.presence.lock().unwrap_or_else(|e| e.into_inner()).published = None;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_CAP);
                }
            }
        }
        let _ = self.connected.send(false);
    }

    /// After each ConnAck: resubscribe everything and republish status and info. Uses the non-blocking
    /// `try_` calls because the event loop that would drain a full queue is this very task.
    fn announce(&self) {
        let mut presence = self.presence.lock().unwrap_or_else(|e| e.into_inner());
        for (filter, qos) in &presence.filters {
            if let Err(error) = self.client.try_subscribe(filter.clone(), *qos) {
                warn!(%filter, %error, "resubscribe failed");
            }
        }
        if !self.announce {
            return;
        }
        presence.published = Some((presence.status.state, presence.status.detail.clone()));
        for (topic, payload) in [
            (status_topic(&self.site, &self.service), presence.status.to_payload()),
            (info_topic(&self.site, &self.service), presence.info.to_payload()),
        ] {
            if let Ok(payload) = payload {
                let _ = self.client.try_publish(topic, QoS::AtLeastOnce, true, payload);
            }
        }
    }
}

impl BusClient {
    /// The site this service was started for.
    pub fn site(&self) -> &str {
        &self.site
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Subscribes now and after every reconnect, at QoS 1: every message on the filter, audio included,
    /// comes with the broker's flow control (for tools and tests that watch the whole tree).
    pub async fn subscribe(&self, filter: impl Into<String>) -> Result<(), BusError> {
        self.subscribe_at(filter.into(), QoS::AtLeastOnce).await
    }

    async fn subscribe_at(&self, filter: String, qos: QoS) -> Result<(), BusError> {
        {
            let mut p = self.presence.lock().unwrap_or_else(|e| e.into_inner());
            match p.filters.iter_mut().find(|(f, _)| *f == filter) {
                Some(known) => known.1 = qos,
                None => p.filters.push((filter.clone(), qos)),
            }
        }
        self.client.subscribe(filter, qos).await?;
        Ok(())
    }

    /// Subscribes to message type `M` on every site, at `M`'s QoS.
    pub async fn subscribe_all_sites<M: Message>(&self) -> Result<(), BusError> {
        self.subscribe_at(topic::filter_all_sites::<M>(), qos_of::<M>()).await
    }

    /// Subscribes to message type `M` on one site, at `M`'s QoS.
    pub async fn subscribe_site<M: Message>(&self, site: &str) -> Result<(), BusError> {
        self.subscribe_at(topic::topic_of::<M>(site), qos_of::<M>()).await
    }

    /// Subscribes to message type `M` on each of `sites` (one `+` filter for [`topic::Sites::All`]).
    pub async fn subscribe_sites<M: Message>(&self, sites: &topic::Sites) -> Result<(), BusError> {
        match sites {
            topic::Sites::All => self.subscribe_all_sites::<M>().await,
            topic::Sites::Only(list) => {
                for site in list {
                    self.subscribe_site::<M>(site).await?;
                }
                Ok(())
            }
        }
    }

    /// Publishes `msg` on its topic for `site`.
    pub async fn publish<M: Message>(&self, site: &str, msg: &M) -> Result<(), BusError> {
        self.publish_on(topic::topic_of::<M>(site), msg).await
    }

    /// Publishes `msg` on an explicit topic (for topics with a variable last level, such as tool calls).
    /// Audio goes at QoS 0 (a late frame is worthless); events at QoS 1.
    pub async fn publish_on<M: Message>(&self, topic: String, msg: &M) -> Result<(), BusError> {
        self.client.publish(topic, qos_of::<M>(), M::RETAIN, msg.to_payload()?).await?;
        Ok(())
    }

    /// Publishes raw bytes (used by `hearth` tools and tests that send malformed payloads on purpose).
    pub async fn publish_raw(&self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), BusError> {
        self.client.publish(topic, QoS::AtLeastOnce, retain, payload).await?;
        Ok(())
    }

    /// Sets the retained service status. It is published on every connection (by the reconnect
    /// loop) and here only when connected and different from what this connection last published,
    /// so a service that sets its status right after connecting publishes it once.
    pub async fn set_status(&self, state: ServiceState, detail: Option<String>) -> Result<(), BusError> {
        let status = ServiceStatus { state, detail, timestamp_ms: now_ms() };
        let payload = status.to_payload()?;
        {
            let mut p = self.presence.lock().unwrap_or_else(|e| e.into_inner());
            let now = Some((status.state, status.detail.clone()));
            p.status = status;
            if !self.announce || p.published.is_none() || p.published == now {
                return Ok(());
            }
            p.published = now;
        }
        self.client.publish(status_topic(&self.site, &self.service), QoS::AtLeastOnce, true, payload).await?;
        Ok(())
    }

    /// Sets and publishes the retained capabilities of this service.
    pub async fn set_capabilities(&self, capabilities: Vec<String>) -> Result<(), BusError> {
        let payload = {
            let mut p = self.presence.lock().unwrap_or_else(|e| e.into_inner());
            p.info.capabilities = capabilities;
            p.info.to_payload()?
        };
        if !self.announce {
            return Ok(());
        }
        self.client.publish(info_topic(&self.site, &self.service), QoS::AtLeastOnce, true, payload).await?;
        Ok(())
    }

    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Waits until the broker accepted the connection.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), BusError> {
        let mut rx = self.connected.clone();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|c| *c)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(BusError::NotConnected { addr: self.addr.to_string(), waited_ms: timeout.as_millis() as u64 }),
        }
    }
}

/// The QoS of message type `M`, both ways: audio (msgpack) at 0, events at 1.
///
/// Subscribing at the message's own QoS matters as much as publishing at it: rumqttd forwards at the
/// subscription's QoS rather than the lower of the two, so a QoS 1 subscription turns every QoS 0 audio
/// frame into a QoS 1 delivery that needs a PUBACK and waits in rumqttd's fixed window of 100
/// unacknowledged messages per connection (broker/architecture.md).
fn qos_of<M: Message>() -> QoS {
    match M::ENCODING {
        Encoding::Msgpack => QoS::AtMostOnce,
        Encoding::Json => QoS::AtLeastOnce,
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/etc/hostname").ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}
