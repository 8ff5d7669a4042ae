//! Home Assistant MQTT discovery: one device per room, with the entities of the capabilities that
//! room really has. Published either device-based (one message on `<prefix>/device/hearth_<site>/config`
//! with every component in `cmps`, Home Assistant 2024.11+) or entity by entity (one message on
//! `<prefix>/<platform>/hearth_<site>/<entity>/config`, any Home Assistant since 2023.8); both are
//! built from the same component list ([`crate::entities`]).
//!
//! Components that go away (a service removed from a room) are removed from Home Assistant: in
//! device mode by sending them once with only their platform, in entity mode by an empty config.

use std::collections::{BTreeMap, BTreeSet};

use hearth_bus::service::status_topic;
use serde_json::{json, Map, Value};

use crate::config::DiscoveryMode;
use crate::entities::{components, Component};

/// Service names as they appear in `hearth/<site>/service/<name>/status`.
pub mod services {
    pub const AUDIO: &str = "audio";
    pub const WAKE: &str = "wake";
    pub const LISTEN: &str = "listen";
    pub const ASR: &str = "asr";
    pub const BRAIN: &str = "brain";
    pub const TTS: &str = "tts";
    pub const TIMERS: &str = "timers";
    pub const TOOLS: &str = "tools";
    pub const LLM: &str = "llm";
    /// A room's camera (`hearth-vision`); the vision service itself is shared.
    pub const CAMERA: &str = "camera";
    /// The bridge itself.
    pub const HA: &str = "ha";
}

/// Services that serve only the room they run in (they hold its microphone, its wake switch, its
/// capture): one of them reporting from a site makes that site a room worth a device, and their
/// entities exist only where they run and follow only that room's service.
pub const ROOM_SERVICES: &[&str] = &[services::AUDIO, services::WAKE, services::LISTEN, services::CAMERA];

/// Services that serve every room from wherever they run.
pub const SHARED_SERVICES: &[&str] =
    &[services::BRAIN, services::ASR, services::TTS, services::TIMERS, services::TOOLS, services::LLM];

/// Where each service has been seen: service name → sites whose status topic it publishes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceLocations {
    seen: BTreeMap<String, BTreeSet<String>>,
}

impl ServiceLocations {
    /// Records a status seen on `hearth/<site>/service/<service>/status`; true when it is new.
    pub fn insert(&mut self, service: &str, site: &str) -> bool {
        self.seen.entry(service.to_string()).or_default().insert(site.to_string())
    }

    /// Forgets a service at a site (its retained status was cleared); true when it was known.
    pub fn remove(&mut self, service: &str, site: &str) -> bool {
        let Some(sites) = self.seen.get_mut(service) else { return false };
        let removed = sites.remove(site);
        if sites.is_empty() {
            self.seen.remove(service);
        }
        removed
    }

    /// The site whose `service` serves `site`: a room service only from the room itself; a shared
    /// service from the room when it runs there, else from the first site it was seen at.
    pub fn home_of(&self, site: &str, service: &str) -> Option<String> {
        let sites = self.seen.get(service)?;
        if sites.contains(site) {
            return Some(site.to_string());
        }
        if ROOM_SERVICES.contains(&service) {
            return None;
        }
        sites.iter().next().cloned()
    }

    pub fn serves(&self, site: &str, service: &str) -> bool {
        self.home_of(site, service).is_some()
    }

    /// The status topic that tells whether `service` serves `site`, when it does.
    pub fn status_topic_for(&self, site: &str, service: &str) -> Option<String> {
        self.home_of(site, service).map(|home| status_topic(&home, service))
    }

    /// The services `site` uses, with the site each runs at: its room services, then every shared
    /// service, then anything else that runs in the room (in name order); never the bridge.
    pub fn services_of(&self, site: &str) -> Vec<(String, String)> {
        let known = ROOM_SERVICES.iter().chain(SHARED_SERVICES).map(|s| s.to_string());
        let others = self
            .seen
            .iter()
            .filter(|(name, sites)| sites.contains(site) && !ROOM_SERVICES.contains(&name.as_str()) && !SHARED_SERVICES.contains(&name.as_str()))
            .map(|(name, _)| name.clone());
        known
            .chain(others)
            .filter(|s| s != services::HA)
            .filter_map(|s| self.home_of(site, &s).map(|home| (s, home)))
            .collect()
    }
}

/// Who publishes discovery, and how devices are named.
#[derive(Debug, Clone)]
pub struct Origin {
    pub discovery_prefix: String,
    /// The bridge's site and service name (its status topic is in the availability of every entity
    /// that needs the bridge: commands and the states and events it publishes).
    pub bridge_site: String,
    pub bridge_service: String,
    /// Software version reported in `dev.sw` and `o.sw`.
    pub version: String,
    /// Room names by site (`[ha] rooms`).
    pub rooms: BTreeMap<String, String>,
    /// `dev.cu`, when configured.
    pub configuration_url: Option<String>,
}

impl Origin {
    /// The room's name: configured, else from the site ("living_room" → "Living room"); `None` for
    /// the default site, which is no particular room.
    pub fn room_name(&self, site: &str) -> Option<String> {
        if let Some(name) = self.rooms.get(site) {
            return Some(name.clone());
        }
        (site != hearth_bus::topic::DEFAULT_SITE).then(|| area_name(site))
    }

    /// "Kitchen assistant"; "Hearth assistant" for the default site.
    pub fn device_name(&self, site: &str) -> String {
        format!("{} assistant", self.room_name(site).unwrap_or_else(|| "Hearth".into()))
    }
}

/// One discovery message.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    pub topic: String,
    /// `Value::Null` is an empty payload: remove the entity.
    pub payload: Value,
}

impl Discovery {
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.payload.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&self.payload).expect("JSON values serialize")
        }
    }
}

/// `[a-zA-Z0-9_-]` only, as HA requires for the object id and as is wise for unique ids.
pub fn object_id(site: &str) -> String {
    let clean: String =
        site.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    format!("hearth_{clean}")
}

/// `<prefix>/device/hearth_<site>/config`.
pub fn discovery_topic(prefix: &str, site: &str) -> String {
    format!("{prefix}/device/{}/config", object_id(site))
}

/// `<prefix>/<platform>/hearth_<site>/<entity>/config`.
pub fn entity_discovery_topic(prefix: &str, platform: &str, site: &str, entity: &str) -> String {
    format!("{prefix}/{platform}/{}/{entity}/config", object_id(site))
}

/// "living_room" → "Living room".
fn area_name(site: &str) -> String {
    let spaced = site.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

fn device(site: &str, origin: &Origin) -> Value {
    let mut device = Map::new();
    device.insert("ids".into(), json!([object_id(site)]));
    device.insert("name".into(), json!(origin.device_name(site)));
    device.insert("mf".into(), json!("Hearth"));
    device.insert("mdl".into(), json!("Voice assistant"));
    device.insert("sw".into(), json!(origin.version));
    if let Some(area) = origin.room_name(site) {
        device.insert("sa".into(), json!(area));
    }
    if let Some(url) = &origin.configuration_url {
        device.insert("cu".into(), json!(url));
    }
    Value::Object(device)
}

fn origin_info(origin: &Origin) -> Value {
    json!({"name": "Hearth", "sw": origin.version})
}

/// The device discovery message of one site (device mode), with `removed` components sent once with
/// only their platform so Home Assistant deletes them.
pub fn device_discovery_with(site: &str, origin: &Origin, current: &[Component], removed: &[(String, String)]) -> Discovery {
    let mut cmps: Map<String, Value> = current.iter().map(|c| (c.id.clone(), c.config.clone())).collect();
    for (id, platform) in removed {
        cmps.insert(id.clone(), json!({ "p": platform }));
    }
    let payload = json!({ "dev": device(site, origin), "o": origin_info(origin), "cmps": cmps });
    Discovery { topic: discovery_topic(&origin.discovery_prefix, site), payload }
}

/// The device discovery message of one site as it stands.
pub fn device_discovery(site: &str, origin: &Origin, locations: &ServiceLocations) -> Discovery {
    device_discovery_with(site, origin, &components(site, origin, locations), &[])
}

/// One message per entity (entity mode), and an empty config for each removed one.
pub fn entity_discoveries(site: &str, origin: &Origin, current: &[Component], removed: &[(String, String)]) -> Vec<Discovery> {
    let dev = device(site, origin);
    let o = origin_info(origin);
    let mut out: Vec<Discovery> = current
        .iter()
        .map(|c| {
            let mut config = c.config.clone();
            let map = config.as_object_mut().expect("components are objects");
            map.remove("p");
            map.insert("dev".into(), dev.clone());
            map.insert("o".into(), o.clone());
            Discovery { topic: entity_discovery_topic(&origin.discovery_prefix, &c.platform, site, &c.id), payload: config }
        })
        .collect();
    out.extend(removed.iter().map(|(id, platform)| Discovery {
        topic: entity_discovery_topic(&origin.discovery_prefix, platform, site, id),
        payload: Value::Null,
    }));
    out
}

/// Remembers what was announced per site, to remove what is no longer there.
#[derive(Debug, Default)]
pub struct Announced {
    /// site → component id → platform.
    sites: BTreeMap<String, BTreeMap<String, String>>,
}

impl Announced {
    /// The messages that bring Home Assistant to `current` for `site`.
    pub fn messages(&mut self, mode: DiscoveryMode, site: &str, origin: &Origin, current: Vec<Component>) -> Vec<Discovery> {
        let now: BTreeMap<String, String> = current.iter().map(|c| (c.id.clone(), c.platform.clone())).collect();
        let before = self.sites.insert(site.to_string(), now.clone()).unwrap_or_default();
        let removed: Vec<(String, String)> =
            before.into_iter().filter(|(id, platform)| now.get(id) != Some(platform)).collect();
        match mode {
            DiscoveryMode::Device => vec![device_discovery_with(site, origin, &current, &removed)],
            DiscoveryMode::Entity => entity_discoveries(site, origin, &current, &removed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            discovery_prefix: "homeassistant".into(),
            bridge_site: "default".into(),
            bridge_service: "ha".into(),
            version: "0.1.0".into(),
            rooms: BTreeMap::from([("default".to_string(), "Living room".to_string())]),
            configuration_url: Some("http://hearth.local:8080".into()),
        }
    }

    #[test]
    fn topic_names_and_ids_are_clean() {
        assert_eq!(discovery_topic("homeassistant", "living.room"), "homeassistant/device/hearth_living_room/config");
        let mut loc = ServiceLocations::default();
        loc.insert("audio", "kitchen");
        let d = device_discovery("kitchen", &origin(), &loc);
        assert_eq!(d.payload["dev"]["ids"][0], "hearth_kitchen");
        assert_eq!(d.payload["dev"]["name"], "Kitchen assistant");
        assert_eq!(d.payload["dev"]["sa"], "Kitchen");
        assert_eq!(d.payload["dev"]["cu"], "http://hearth.local:8080");
        assert_eq!(d.payload["cmps"]["volume"]["unique_id"], "hearth_kitchen_volume");
        let d = device_discovery("default", &origin(), &loc);
        assert_eq!(d.payload["dev"]["name"], "Living room assistant");
        let plain = Origin { rooms: BTreeMap::new(), ..origin() };
        let d = device_discovery("default", &plain, &loc);
        assert_eq!(d.payload["dev"]["name"], "Hearth assistant");
        assert!(d.payload["dev"].get("sa").is_none());
    }

    #[test]
    fn room_services_serve_only_their_room() {
        let mut loc = ServiceLocations::default();
        assert!(loc.insert("brain", "default"));
        assert!(!loc.insert("brain", "default"));
        loc.insert("wake", "default");
        loc.insert("audio", "kitchen");
        assert_eq!(loc.home_of("kitchen", "brain").as_deref(), Some("default"));
        assert_eq!(loc.home_of("kitchen", "wake"), None, "the default room's wake word is not the kitchen's");
        assert_eq!(loc.home_of("kitchen", "audio").as_deref(), Some("kitchen"));
        let names: Vec<String> = loc.services_of("kitchen").into_iter().map(|(s, _)| s).collect();
        assert_eq!(names, ["audio", "brain"]);
        assert!(loc.remove("audio", "kitchen") && !loc.serves("kitchen", "audio"));
    }

    #[test]
    fn removed_components_are_removed_in_both_modes() {
        let mut loc = ServiceLocations::default();
        loc.insert("audio", "kitchen");
        loc.insert("wake", "kitchen");
        let o = origin();
        let mut announced = Announced::default();
        let first = announced.messages(DiscoveryMode::Device, "kitchen", &o, components("kitchen", &o, &loc));
        assert!(first[0].payload["cmps"]["wake_word"]["command_topic"].is_string());
        loc.remove("wake", "kitchen");
        let second = announced.messages(DiscoveryMode::Device, "kitchen", &o, components("kitchen", &o, &loc));
        assert_eq!(second[0].payload["cmps"]["wake_word"], json!({"p": "switch"}));
        let third = announced.messages(DiscoveryMode::Device, "kitchen", &o, components("kitchen", &o, &loc));
        assert!(third[0].payload["cmps"].get("wake_word").is_none());

        let mut announced = Announced::default();
        loc.insert("wake", "kitchen");
        let all = announced.messages(DiscoveryMode::Entity, "kitchen", &o, components("kitchen", &o, &loc));
        let switch = all.iter().find(|d| d.topic == "homeassistant/switch/hearth_kitchen/wake_word/config").unwrap();
        assert!(switch.payload.get("p").is_none() && switch.payload["dev"]["ids"][0] == "hearth_kitchen");
        loc.remove("wake", "kitchen");
        let after = announced.messages(DiscoveryMode::Entity, "kitchen", &o, components("kitchen", &o, &loc));
        let removal = after.iter().find(|d| d.topic == "homeassistant/switch/hearth_kitchen/wake_word/config").unwrap();
        assert!(removal.to_bytes().is_empty());
    }
}
