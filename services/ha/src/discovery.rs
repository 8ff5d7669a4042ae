//! Home Assistant device-based discovery: one device per site on `<prefix>/device/hearth_<site>/config`
//! with shared device (`dev`) and origin (`o`) info and one component per entity (`cmps`).
//!
//! State comes straight from the services' own retained topics (HA renders `value_template` over
//! their JSON); commands go to the bridge's `hearth/<site>/ha/<entity>/set` topics in HA's plain
//! payloads. Availability is the list of status topics of the services an entity depends on, read
//! through a template because those payloads are JSON (`{"state":"online",…}`).

use std::collections::{BTreeMap, BTreeSet};

use hearth_bus::ha::{HaCommand, HaWakeEvent};
use hearth_bus::service::status_topic;
use hearth_bus::{topic, Message};
use serde_json::{json, Map, Value};

/// Service names as they appear in `hearth/<site>/service/<name>/status`.
pub mod services {
    pub const AUDIO: &str = "audio";
    pub const WAKE: &str = "wake";
    pub const LISTEN: &str = "listen";
    pub const ASR: &str = "asr";
    pub const BRAIN: &str = "brain";
    pub const TTS: &str = "tts";
    pub const TIMERS: &str = "timers";
    /// The bridge itself.
    pub const HA: &str = "ha";
}

/// Services that live with a microphone and speaker: one of them reporting from a site makes that
/// site a room worth a device. Brain, ASR, TTS and the LLM serve every site from wherever they run.
pub const SITE_SERVICES: &[&str] = &[services::AUDIO, services::WAKE, services::LISTEN];

/// The values the assistant state sensor can take (the `enum` device class needs them listed).
pub const ASSISTANT_STATES: &[&str] = &["idle", "listening", "thinking", "speaking"];

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

    /// The status topic that tells whether `service` serves `site`: its own status at that site
    /// when it runs there, else where it was seen (first site in order), else the site's own topic
    /// (it will turn up there, or the entity stays unavailable, which is the truth).
    pub fn status_topic_for(&self, site: &str, service: &str) -> String {
        let home = match self.seen.get(service) {
            Some(sites) if sites.contains(site) => site,
            Some(sites) => sites.iter().next().map(String::as_str).unwrap_or(site),
            None => site,
        };
        status_topic(home, service)
    }
}

/// Who publishes discovery, and where the bridge's own status is.
#[derive(Debug, Clone)]
pub struct Origin {
    pub discovery_prefix: String,
    /// The bridge's site and service name (its status topic is in the availability of every entity
    /// that needs the bridge: commands and the wake event).
    pub bridge_site: String,
    pub bridge_service: String,
    /// Software version reported in `dev.sw` and `o.sw`.
    pub version: String,
}

/// One discovery message.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    pub topic: String,
    pub payload: Value,
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

/// "living_room" → "Living room".
fn area_name(site: &str) -> String {
    let spaced = site.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// Reads a service status as HA availability: only `online` is available; `unavailable` (model or
/// device missing) and `offline` are not.
const AVAILABILITY_TEMPLATE: &str = "{{ 'online' if value_json.state == 'online' else 'offline' }}";

/// HA states are at most 255 characters; the whole text is in the attributes.
const TEXT_TEMPLATE: &str = "{{ value_json.text[:255] }}";

/// The discovery message of one site.
pub fn device_discovery(site: &str, origin: &Origin, locations: &ServiceLocations) -> Discovery {
    let t = |suffix: &str| topic::topic(site, suffix);
    let uid = |key: &str| format!("{}_{key}", object_id(site));
    let availability = |needs: &[&str], bridge: bool| -> Value {
        let mut topics: Vec<String> = needs.iter().map(|s| locations.status_topic_for(site, s)).collect();
        if bridge {
            topics.push(status_topic(&origin.bridge_site, &origin.bridge_service));
        }
        Value::Array(topics.into_iter().map(|topic| json!({"topic": topic, "value_template": AVAILABILITY_TEMPLATE})).collect())
    };
    // A state outside the listed options is an error in HA; `None` makes it "unknown" instead.
    let states_list = ASSISTANT_STATES.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(",");
    let next_due = "(value_json.timers[0].due_at_ms / 1000) | timestamp_custom('%Y-%m-%dT%H:%M:%S+00:00', false)";

    let mut components: Vec<(&str, Value)> = vec![
        ("assistant_state", json!({
            "p": "sensor",
            "name": "Assistant state",
            "unique_id": uid("assistant_state"),
            "device_class": "enum",
            "options": ASSISTANT_STATES,
            "icon": "mdi:account-voice",
            "state_topic": t("brain/state"),
            "value_template": format!("{{% set s = value_json.state %}}{{{{ s if s in [{states_list}] else 'None' }}}}"),
            "json_attributes_topic": t("brain/state"),
            "json_attributes_template": "{{ {'session_id': value_json.session_id} | tojson }}",
            "availability": availability(&[services::BRAIN], false),
        })),
        ("last_transcript", json!({
            "p": "sensor",
            "name": "Last transcript",
            "unique_id": uid("last_transcript"),
            "icon": "mdi:account-voice",
            "state_topic": t("asr/transcript"),
            "value_template": TEXT_TEMPLATE,
            "json_attributes_topic": t("asr/transcript"),
            "json_attributes_template": "{{ {'text': value_json.text, 'source': value_json.source, 'session_id': value_json.session_id} | tojson }}",
            "availability": availability(&[services::ASR], false),
        })),
        ("last_reply", json!({
            "p": "sensor",
            "name": "Last reply",
            "unique_id": uid("last_reply"),
            "icon": "mdi:message-reply-text",
            "state_topic": t("brain/reply"),
            "value_template": TEXT_TEMPLATE,
            "json_attributes_topic": t("brain/reply"),
            "json_attributes_template": "{{ {'text': value_json.text, 'request': value_json.request, 'source': value_json.source, 'tool': value_json.tool, 'elapsed_ms': value_json.elapsed_ms, 'session_id': value_json.session_id} | tojson }}",
            "availability": availability(&[services::BRAIN], false),
        })),
        ("wake", json!({
            "p": "event",
            "name": "Wake word",
            "unique_id": uid("wake"),
            "icon": "mdi:microphone-message",
            "state_topic": t(HaWakeEvent::SUFFIX),
            "event_types": [HaWakeEvent::EVENT_TYPE],
            "availability": availability(&[services::WAKE], true),
        })),
        ("mic_mute", json!({
            "p": "switch",
            "name": "Microphone mute",
            "unique_id": uid("mic_mute"),
            "icon": "mdi:microphone-off",
            "command_topic": HaCommand::MicMute.topic(site),
            "payload_on": "ON",
            "payload_off": "OFF",
            "state_topic": t("audio/mic"),
            "value_template": "{{ 'ON' if value_json.muted else 'OFF' }}",
            "availability": availability(&[services::AUDIO], true),
        })),
        ("wake_word", json!({
            "p": "switch",
            "name": "Wake word detection",
            "unique_id": uid("wake_word"),
            "icon": "mdi:account-voice",
            "command_topic": HaCommand::WakeWord.topic(site),
            "payload_on": "ON",
            "payload_off": "OFF",
            "state_topic": t("wake/state"),
            "value_template": "{{ 'ON' if value_json.enabled else 'OFF' }}",
            "json_attributes_topic": t("wake/state"),
            "json_attributes_template": "{{ {'words': value_json.words} | tojson }}",
            "availability": availability(&[services::WAKE], true),
        })),
        ("volume", json!({
            "p": "number",
            "name": "Volume",
            "unique_id": uid("volume"),
            "icon": "mdi:volume-high",
            "command_topic": HaCommand::Volume.topic(site),
            "state_topic": t("audio/volume"),
            "value_template": "{{ value_json.volume }}",
            "min": 0,
            "max": 100,
            "step": 1,
            "mode": "slider",
            "unit_of_measurement": "%",
            "availability": availability(&[services::AUDIO], true),
        })),
        ("announce", json!({
            "p": "notify",
            "name": "Announce",
            "unique_id": uid("announce"),
            "icon": "mdi:bullhorn",
            "command_topic": HaCommand::Announce.topic(site),
            "availability": availability(&[services::TTS, services::AUDIO], true),
        })),
        ("ask", json!({
            "p": "text",
            "name": "Ask",
            "unique_id": uid("ask"),
            "icon": "mdi:chat-question",
            "command_topic": HaCommand::Ask.topic(site),
            "state_topic": t("asr/transcript"),
            "value_template": TEXT_TEMPLATE,
            "min": 0,
            "max": 255,
            "mode": "text",
            "availability": availability(&[services::BRAIN], true),
        })),
        ("active_timers", json!({
            "p": "sensor",
            "name": "Active timers",
            "unique_id": uid("active_timers"),
            "icon": "mdi:timer-outline",
            "state_class": "measurement",
            "state_topic": t("timer/state"),
            "value_template": "{{ value_json.timers | length }}",
            "json_attributes_topic": t("timer/state"),
            "json_attributes_template": format!(
                "{{{{ {{'timers': value_json.timers, 'next_due': ({next_due} if value_json.timers else None)}} | tojson }}}}"
            ),
            "availability": availability(&[services::TIMERS], false),
        })),
        ("next_timer", json!({
            "p": "sensor",
            "name": "Next timer",
            "unique_id": uid("next_timer"),
            "device_class": "timestamp",
            "state_topic": t("timer/state"),
            "value_template": format!("{{% if value_json.timers %}}{{{{ {next_due} }}}}{{% else %}}None{{% endif %}}"),
            "json_attributes_topic": t("timer/state"),
            "json_attributes_template": "{{ ({'name': value_json.timers[0].name, 'duration_ms': value_json.timers[0].duration_ms} if value_json.timers else {}) | tojson }}",
            "availability": availability(&[services::TIMERS], false),
        })),
        ("listen", json!({
            "p": "button",
            "name": "Listen",
            "unique_id": uid("listen"),
            "icon": "mdi:microphone",
            "command_topic": HaCommand::Listen.topic(site),
            "payload_press": "PRESS",
            "availability": availability(&[services::LISTEN], true),
        })),
    ];
    for (_, c) in &mut components {
        c["availability_mode"] = json!("all");
    }

    let mut device = Map::new();
    device.insert("ids".into(), json!([object_id(site)]));
    device.insert("name".into(), json!(format!("Hearth {site}")));
    device.insert("mf".into(), json!("Hearth"));
    device.insert("mdl".into(), json!("Voice assistant"));
    device.insert("sw".into(), json!(origin.version));
    if site != topic::DEFAULT_SITE {
        device.insert("sa".into(), json!(area_name(site)));
    }
    let payload = json!({
        "dev": device,
        "o": {"name": "Hearth", "sw": origin.version},
        "cmps": components.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>(),
    });
    Discovery { topic: discovery_topic(&origin.discovery_prefix, site), payload }
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
        }
    }

    #[test]
    fn topic_and_ids_are_clean() {
        assert_eq!(discovery_topic("homeassistant", "living.room"), "homeassistant/device/hearth_living_room/config");
        let d = device_discovery("kitchen", &origin(), &ServiceLocations::default());
        assert_eq!(d.payload["dev"]["ids"][0], "hearth_kitchen");
        assert_eq!(d.payload["dev"]["sa"], "Kitchen");
        assert_eq!(d.payload["cmps"]["volume"]["unique_id"], "hearth_kitchen_volume");
        let d = device_discovery("default", &origin(), &ServiceLocations::default());
        assert!(d.payload["dev"].get("sa").is_none());
    }

    #[test]
    fn availability_follows_where_services_run() {
        let mut loc = ServiceLocations::default();
        assert!(loc.insert("brain", "default"));
        assert!(!loc.insert("brain", "default"));
        loc.insert("audio", "kitchen");
        let d = device_discovery("kitchen", &origin(), &loc);
        let topics = |key: &str| -> Vec<String> {
            d.payload["cmps"][key]["availability"].as_array().unwrap().iter().map(|a| a["topic"].as_str().unwrap().to_string()).collect()
        };
        // The brain serves the kitchen from the default site.
        assert_eq!(topics("assistant_state"), ["hearth/default/service/brain/status"]);
        // The microphone is the kitchen's own, and the command goes through the bridge.
        assert_eq!(topics("mic_mute"), ["hearth/kitchen/service/audio/status", "hearth/default/service/ha/status"]);
        // Never seen: the site's own topic.
        assert_eq!(topics("listen"), ["hearth/kitchen/service/listen/status", "hearth/default/service/ha/status"]);
    }
}
