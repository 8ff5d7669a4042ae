//! The Home Assistant bridge: announces every Hearth room to Home Assistant through MQTT discovery,
//! turns what HA commands into the bus messages of the services that own them, and republishes
//! what HA needs in its own terms.
//!
//! Home Assistant connects to the same broker as Hearth. The bridge announces one device per room
//! ("Kitchen assistant") at start, again whenever HA's birth message (`online` on `<prefix>/status`)
//! says HA (re)started, and again when a service appears in or leaves a room; a room gets only the
//! entities of the capabilities it has. Entity state is read by HA from retained topics: the
//! services' own, and the bridge's (`ha/last_transcript`, `ha/last_reply`, `ha/timers`,
//! `ha/health`) for what the bus only has as events. Timers finishing, listening and replies spoken
//! become HA events, and so do messages and calls the brain hands off (`message/send`, `call/start` →
//! the room's "Message request" event entity, for the blueprint in deploy/home-assistant/blueprints). Commands arrive on `hearth/<site>/ha/<entity>/set` and leave as typed messages.
//!
//! # Layout
//! - [`config`]: the `[ha]` table.
//! - [`entities`]: the entities of a room (pure).
//! - [`discovery`]: where services run, and the discovery messages of a room in either mode (pure).
//! - [`mirror`]: bus events as HA states and events, and each room's health (pure).
//! - [`commands`]: HA payloads → bus messages (pure).
//! - [`run`]: the service loop.

pub mod commands;
pub mod config;
pub mod discovery;
pub mod entities;
pub mod mirror;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hearth_bus::asr::Transcript;
use hearth_bus::audio::Played;
use hearth_bus::brain::Reply;
use hearth_bus::ha::{command_filter, HaCommand, HaHealth, HaTimers, HaWakeEvent};
use hearth_bus::ids::now_ms;
use hearth_bus::listen::{ListeningEnded, ListeningStarted};
use hearth_bus::message::{SendMessage, StartCall};
use hearth_bus::service::{service_of, ServiceState, ServiceStatus};
use hearth_bus::timer::{TimerDone, TimerState};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusError, Envelope, Message, Shutdown};
use rand::Rng;
use thiserror::Error;
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub use commands::{translate, BusCommand, CommandError};
pub use config::{DiscoveryMode, HaConfig};
pub use discovery::{device_discovery, discovery_topic, Discovery, Origin, ServiceLocations};

#[derive(Debug, Error)]
pub enum HaError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("invalid setting `{key}`: {why}")]
    Config { key: &'static str, why: String },
}

/// How often the loop checks whether the broker connection came back (to announce again).
const CONNECTION_CHECK: Duration = Duration::from_millis(500);

/// Runs the bridge until shutdown.
pub async fn run(config: HaConfig, bus: Bus, shutdown: Shutdown) -> Result<(), HaError> {
    config.validate().map_err(|(key, why)| HaError::Config { key, why })?;
    let Bus { client, mut inbox } = bus;
    let mut bridge = Bridge::new(config, &client);

    client.subscribe(bridge.config.birth_topic()).await?;
    client.subscribe(hearth_bus::topic::topic("+", "service/+/status")).await?;
    client.subscribe(command_filter()).await?;
    client.subscribe_all_sites::<WakeDetected>().await?;
    client.subscribe_all_sites::<Transcript>().await?;
    client.subscribe_all_sites::<Reply>().await?;
    client.subscribe_all_sites::<Played>().await?;
    client.subscribe_all_sites::<TimerState>().await?;
    client.subscribe_all_sites::<TimerDone>().await?;
    client.subscribe_all_sites::<ListeningStarted>().await?;
    client.subscribe_all_sites::<ListeningEnded>().await?;
    client.subscribe_all_sites::<SendMessage>().await?;
    client.subscribe_all_sites::<StartCall>().await?;
    client.set_capabilities(vec![format!("ha:discovery:{}", bridge.config.discovery_prefix)]).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(prefix = %bridge.config.discovery_prefix, mode = ?bridge.config.discovery, sites = ?bridge.sites, "home assistant bridge ready");

    let mut was_connected = client.is_connected();
    let mut check = tokio::time::interval(CONNECTION_CHECK);
    loop {
        let deadline = bridge.publish_at;
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = sleep_until(deadline) => bridge.publish_discovery(&client).await,
            _ = check.tick() => {
                let connected = client.is_connected();
                if connected && !was_connected {
                    // The broker may have restarted and lost non-retained discovery with it.
                    bridge.schedule(Duration::ZERO);
                }
                was_connected = connected;
            }
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                bridge.on_message(&client, &envelope).await;
            }
        }
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

struct Bridge {
    config: HaConfig,
    origin: Origin,
    /// Rooms with a device: configured ones and every site a room service was seen at.
    sites: BTreeSet<String>,
    locations: ServiceLocations,
    /// Latest status of each service, by (site it runs at, service).
    statuses: BTreeMap<(String, String), ServiceStatus>,
    /// Health last published per room, so only changes are published.
    health: BTreeMap<String, HaHealth>,
    /// Rooms whose timers were published (an empty list is published once for the others).
    timers_published: BTreeSet<String>,
    spoken: mirror::SpokenReplies,
    announced: discovery::Announced,
    /// When discovery is due; `None` when nothing changed.
    publish_at: Option<Instant>,
}

impl Bridge {
    fn new(config: HaConfig, client: &BusClient) -> Bridge {
        let origin = Origin {
            discovery_prefix: config.discovery_prefix.clone(),
            bridge_site: client.site().to_string(),
            bridge_service: client.service().to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            rooms: config.rooms.clone(),
            configuration_url: config.configuration_url.clone(),
        };
        let sites = config.sites.iter().cloned().collect();
        let mut bridge = Bridge {
            config,
            origin,
            sites,
            locations: ServiceLocations::default(),
            statuses: BTreeMap::new(),
            health: BTreeMap::new(),
            timers_published: BTreeSet::new(),
            spoken: mirror::SpokenReplies::default(),
            announced: discovery::Announced::default(),
            publish_at: None,
        };
        bridge.schedule(Duration::ZERO);
        bridge
    }

    /// Publishes discovery after the settle delay plus `extra`; an earlier pending time is kept.
    fn schedule(&mut self, extra: Duration) {
        let at = Instant::now() + Duration::from_millis(self.config.discovery_delay_ms) + extra;
        self.publish_at = Some(self.publish_at.map_or(at, |p| p.min(at)));
    }

    async fn on_message(&mut self, client: &BusClient, envelope: &Envelope) {
        if envelope.topic == self.config.birth_topic() {
            if envelope.payload == self.config.birth_payload.as_bytes() {
                let jitter = rand::thread_rng().gen_range(0..=self.config.birth_jitter_ms);
                info!(jitter_ms = jitter, "home assistant came online, announcing again");
                self.schedule(Duration::from_millis(jitter));
            }
            return;
        }
        let (Some(site), Some(suffix)) = (envelope.site(), envelope.suffix()) else { return };
        let site = site.to_string();
        if let Some(service) = service_of(suffix, "status") {
            if envelope.payload.is_empty() {
                self.on_service_removed(client, &site, service).await;
            } else if let Some(status) = envelope.decode::<ServiceStatus>() {
                self.on_status(client, &site, service, status).await;
            }
        } else if let Some(command) = HaCommand::from_suffix(suffix) {
            self.on_command(client, &site, command, &envelope.payload).await;
        } else if let Some(wake) = envelope.decode::<WakeDetected>() {
            self.on_wake(client, &site, wake).await;
        } else if let Some(t) = envelope.decode::<Transcript>() {
            publish(client, &site, &mirror::last_transcript(&t, now_ms())).await;
        } else if let Some(reply) = envelope.decode::<Reply>() {
            publish(client, &site, &mirror::last_reply(&reply, now_ms())).await;
            if let Some(event) = self.spoken.on_reply(&site, &reply) {
                publish(client, &site, &event).await;
            }
        } else if let Some(played) = envelope.decode::<Played>() {
            if let Some(event) = self.spoken.on_played(&site, &played) {
                publish(client, &site, &event).await;
            }
        } else if let Some(state) = envelope.decode::<TimerState>() {
            self.timers_published.insert(site.clone());
            publish(client, &site, &mirror::timers(&state)).await;
        } else if let Some(done) = envelope.decode::<TimerDone>() {
            publish(client, &site, &mirror::timer_finished(&done)).await;
        } else if let Some(started) = envelope.decode::<ListeningStarted>() {
            publish(client, &site, &mirror::listening_started(&started)).await;
        } else if let Some(ended) = envelope.decode::<ListeningEnded>() {
            publish(client, &site, &mirror::listening_ended(&ended)).await;
        } else if let Some(m) = envelope.decode::<SendMessage>() {
            publish(client, &site, &mirror::message_requested(&site, &m)).await;
        } else if let Some(c) = envelope.decode::<StartCall>() {
            publish(client, &site, &mirror::call_requested(&site, &c)).await;
        }
    }

    async fn on_status(&mut self, client: &BusClient, site: &str, service: &str, status: ServiceStatus) {
        self.statuses.insert((site.to_string(), service.to_string()), status);
        let mut changed = self.locations.insert(service, site);
        if discovery::ROOM_SERVICES.contains(&service) && self.sites.insert(site.to_string()) {
            info!(site, service, "new room seen on the bus");
            changed = true;
        }
        if changed {
            debug!(site, service, "service location learned");
            self.schedule(Duration::ZERO);
        }
        self.publish_health(client).await;
    }

    /// A cleared retained status: the service was removed from that site for good, and with it the
    /// entities of its capability.
    async fn on_service_removed(&mut self, client: &BusClient, site: &str, service: &str) {
        self.statuses.remove(&(site.to_string(), service.to_string()));
        if self.locations.remove(service, site) {
            info!(site, service, "service removed; its entities go");
            self.schedule(Duration::ZERO);
        }
        self.publish_health(client).await;
    }

    /// Publishes the health of every room whose health changed.
    async fn publish_health(&mut self, client: &BusClient) {
        for site in &self.sites {
            let health = mirror::health(site, &self.locations, &self.statuses);
            if self.health.get(site) != Some(&health) {
                publish(client, site, &health).await;
                self.health.insert(site.clone(), health);
            }
        }
    }

    async fn on_wake(&self, client: &BusClient, site: &str, wake: WakeDetected) {
        let event = HaWakeEvent {
            event_type: HaWakeEvent::EVENT_TYPE.into(),
            word: wake.word,
            score: wake.score,
            session_id: wake.session_id,
            timestamp_ms: wake.timestamp_ms,
        };
        publish(client, site, &event).await;
    }
    async fn on_command(&self, client: &BusClient, site: &str, command: HaCommand, payload: &[u8]) {
        let translated = match translate(command, payload) {
            Ok(t) => t,
            Err(error) => {
                let dropped = hearth_bus::codec::count_dropped(&command.topic(site));
                warn!(site, command = command.entity(), %error, dropped, "dropping bad command from home assistant");
                return;
            }
        };
        debug!(site, command = command.entity(), "command from home assistant");
        let published = match &translated {
            BusCommand::Mic(m) => client.publish(site, m).await,
            BusCommand::Wake(m) => client.publish(site, m).await,
            BusCommand::Camera(m) => client.publish(site, m).await,
            BusCommand::Volume(m) => client.publish(site, m).await,
            BusCommand::Ask(m) => client.publish(site, m).await,
            BusCommand::Listen(m) => client.publish(site, m).await,
            BusCommand::Announce(says) => {
                let mut result = Ok(());
                for say in says {
                    result = client.publish(site, say).await;
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
        };
        if let Err(error) = published {
            warn!(site, command = command.entity(), %error, "could not publish a command");
        }
    }

    async fn publish_discovery(&mut self, client: &BusClient) {
        self.publish_at = None;
        // States first, so every entity has its state the moment Home Assistant subscribes.
        self.publish_health(client).await;
        let sites: Vec<String> = self.sites.iter().cloned().collect();
        for site in &sites {
            if self.locations.serves(site, discovery::services::TIMERS) && self.timers_published.insert(site.clone()) {
                publish(client, site, &HaTimers { count: 0, next_due: None, timers: Vec::new() }).await;
            }
        }
        let mut messages = 0;
        for site in &sites {
            let components = entities::components(site, &self.origin, &self.locations);
            for d in self.announced.messages(self.config.discovery, site, &self.origin, components) {
                messages += 1;
                if let Err(error) = client.publish_raw(d.topic.clone(), self.config.retain_discovery, d.to_bytes()).await {
                    warn!(site, topic = %d.topic, %error, "could not publish discovery");
                }
            }
        }
        info!(sites = sites.len(), messages, "published home assistant discovery");
    }
}

async fn publish<M: Message>(client: &BusClient, site: &str, msg: &M) {
    if let Err(error) = client.publish(site, msg).await {
        warn!(site, topic = M::SUFFIX, %error, "could not publish for home assistant");
    }
}
