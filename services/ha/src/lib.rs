//! The Home Assistant bridge: announces every Hearth site to Home Assistant through MQTT device
//! discovery, and turns what HA commands into the bus messages of the services that own them.
//!
//! Home Assistant connects to the same broker as Hearth. The bridge publishes one device per site on
//! `<prefix>/device/hearth_<site>/config` at start, again whenever HA's birth message (`online` on
//! `<prefix>/status`) says HA (re)started, and again when a new site or service appears. Entity
//! state is read by HA from the services' own retained topics; availability from their retained
//! status; commands arrive on `hearth/<site>/ha/<entity>/set` and leave as typed messages.
//!
//! # Layout
//! - [`config`]: the `[ha]` table.
//! - [`discovery`]: the discovery payload of a site (pure).
//! - [`commands`]: HA payloads → bus messages (pure).
//! - [`run`]: the service loop.

pub mod commands;
pub mod config;
pub mod discovery;

use std::collections::BTreeSet;
use std::time::Duration;

use hearth_bus::ha::{command_filter, HaCommand, HaWakeEvent};
use hearth_bus::service::{service_of, ServiceState, ServiceStatus};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusError, Envelope, Shutdown};
use rand::Rng;
use thiserror::Error;
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub use commands::{translate, BusCommand, CommandError};
pub use config::HaConfig;
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
    client.subscribe_all_sites::<WakeDetected>().await?;
    client.subscribe(command_filter()).await?;
    client.set_capabilities(vec![format!("ha:discovery:{}", bridge.config.discovery_prefix)]).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(prefix = %bridge.config.discovery_prefix, sites = ?bridge.sites, "home assistant bridge ready");

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
    sites: BTreeSet<String>,
    locations: ServiceLocations,
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
        };
        let sites = config.sites.iter().cloned().collect();
        let mut bridge = Bridge { config, origin, sites, locations: ServiceLocations::default(), publish_at: None };
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
        if let Some(service) = service_of(suffix, "status") {
            if envelope.decode::<ServiceStatus>().is_some() {
                self.on_service_seen(site, service);
            }
        } else if let Some(wake) = envelope.decode::<WakeDetected>() {
            self.on_wake(client, site, wake).await;
        } else if let Some(command) = HaCommand::from_suffix(suffix) {
            self.on_command(client, site, command, &envelope.payload).await;
        }
    }

    fn on_service_seen(&mut self, site: &str, service: &str) {
        let mut changed = self.locations.insert(service, site);
        if discovery::SITE_SERVICES.contains(&service) && self.sites.insert(site.to_string()) {
            info!(site, service, "new site seen on the bus");
            changed = true;
        }
        if changed {
            debug!(site, service, "service location learned");
            self.schedule(Duration::ZERO);
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
        if let Err(error) = client.publish(site, &event).await {
            warn!(site, %error, "could not publish the wake event");
        }
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
        for site in &self.sites {
            let d = device_discovery(site, &self.origin, &self.locations);
            let payload = match serde_json::to_vec(&d.payload) {
                Ok(p) => p,
                Err(error) => {
                    warn!(site, %error, "could not encode discovery");
                    continue;
                }
            };
            if let Err(error) = client.publish_raw(d.topic.clone(), self.config.retain_discovery, payload).await {
                warn!(site, topic = %d.topic, %error, "could not publish discovery");
            }
        }
        info!(sites = self.sites.len(), "published home assistant discovery");
    }
}
