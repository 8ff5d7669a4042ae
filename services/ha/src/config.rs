//! The `[ha]` table of the node file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How discovery is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryMode {
    /// One message per room on `<prefix>/device/hearth_<site>/config` (Home Assistant 2024.11 and later).
    #[default]
    Device,
    /// One message per entity on `<prefix>/<platform>/hearth_<site>/<entity>/config`, which every
    /// Home Assistant since 2023.8 reads (the `notify` entity needs 2024.5).
    Entity,
}

/// Home Assistant bridge settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaConfig {
    /// Home Assistant's MQTT discovery prefix (HA's "Discovery prefix" option).
    pub discovery_prefix: String,
    /// Topic of HA's birth message; `online` there makes the bridge publish discovery again. Absent
    /// means `<discovery_prefix>/status`, HA's default.
    pub birth_topic: Option<String>,
    /// Payload of HA's birth message.
    pub birth_payload: String,
    /// Sites announced from the start; any other site seen on the bus is added when it appears.
    pub sites: Vec<String>,
    /// Retain discovery payloads at the broker. Off by default: HA's docs prefer answering the birth
    /// message, and retained configs leave ghost devices behind.
    pub retain_discovery: bool,
    /// Wait after a change (start, birth, a new site or service) before publishing discovery, so
    /// that a burst of retained status messages gives one publish, milliseconds.
    pub discovery_delay_ms: u64,
    /// Most extra random delay added to `discovery_delay_ms` after a birth message, milliseconds
    /// (HA's docs ask for some jitter so that every device does not answer at once).
    pub birth_jitter_ms: u64,
    /// `device` (one discovery message per room, Home Assistant 2024.11+) or `entity` (one per
    /// entity, any Home Assistant since 2023.8).
    pub discovery: DiscoveryMode,
    /// Room names by site (`kitchen = "Kitchen"`): the device is named "<room> assistant" and
    /// suggested for that area. Sites not listed are named from the site ("living_room" → "Living
    /// room"); the `default` site is "Hearth assistant" with no area.
    pub rooms: BTreeMap<String, String>,
    /// The page that configures Hearth (shown as "Visit" on each device); none when absent.
    pub configuration_url: Option<String>,
}

impl Default for HaConfig {
    fn default() -> Self {
        Self {
            discovery_prefix: "homeassistant".into(),
            birth_topic: None,
            birth_payload: "online".into(),
            sites: vec![hearth_bus::topic::DEFAULT_SITE.into()],
            retain_discovery: false,
            discovery_delay_ms: 500,
            birth_jitter_ms: 1000,
            discovery: DiscoveryMode::Device,
            rooms: BTreeMap::new(),
            configuration_url: None,
        }
    }
}

impl HaConfig {
    /// Checks every key; the error names it.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let level_ok = |s: &str| !s.is_empty() && !s.contains(['+', '#']) && !s.starts_with('/') && !s.ends_with('/');
        if !level_ok(&self.discovery_prefix) {
            return Err(("ha.discovery_prefix", "must be a topic without wildcards or leading/trailing '/'".into()));
        }
        if let Some(t) = &self.birth_topic {
            if !level_ok(t) {
                return Err(("ha.birth_topic", "must be a topic without wildcards".into()));
            }
        }
        if self.birth_payload.is_empty() {
            return Err(("ha.birth_payload", "must not be empty".into()));
        }
        for site in &self.sites {
            hearth_bus::topic::validate_site(site).map_err(|why| ("ha.sites", why))?;
        }
        for (site, name) in &self.rooms {
            hearth_bus::topic::validate_site(site).map_err(|why| ("ha.rooms", why))?;
            if name.trim().is_empty() {
                return Err(("ha.rooms", format!("the room name of {site:?} is empty")));
            }
        }
        if let Some(url) = &self.configuration_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(("ha.configuration_url", format!("{url:?} must start with http:// or https://")));
            }
        }
        if self.discovery_delay_ms > 60_000 || self.birth_jitter_ms > 60_000 {
            return Err(("ha.discovery_delay_ms", "delays must be at most 60000 ms".into()));
        }
        Ok(())
    }

    pub fn birth_topic(&self) -> String {
        self.birth_topic.clone().unwrap_or_else(|| format!("{}/status", self.discovery_prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let c = HaConfig::default();
        c.validate().unwrap();
        assert_eq!(c.birth_topic(), "homeassistant/status");
        let bad = HaConfig { discovery_prefix: "ha/#".into(), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "ha.discovery_prefix");
        let bad = HaConfig { sites: vec!["a b".into()], ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "ha.sites");
        let bad = HaConfig { configuration_url: Some("hearth.local".into()), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "ha.configuration_url");
        let bad = HaConfig { rooms: [("kitchen".to_string(), " ".to_string())].into(), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "ha.rooms");
    }
}
