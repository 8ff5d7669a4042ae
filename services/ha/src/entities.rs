//! The entities of one room, as MQTT discovery components (pure).
//!
//! Only what the room really has is listed: the microphone controls where an audio service runs in
//! that room, the wake word controls where its wake service runs, the camera's off switch where its
//! camera runs, push-to-talk where its listener
//! runs, the assistant's state and replies where a brain serves it, timers where a timers service
//! does. Room services' entities follow that room's service only; shared services' entities follow
//! the service wherever it runs; everything that goes through the bridge (commands, and the states
//! and events it republishes) also follows the bridge.
//!
//! States come from retained topics, so Home Assistant has them again right after its own restart:
//! the services' own (`brain/state`, `audio/mic`, `audio/volume`, `wake/state`, `camera/enabled`, service
//! status) and
//! the bridge's (`ha/last_transcript`, `ha/last_reply`, `ha/timers`, `ha/health`). Units are Home
//! Assistant's: seconds and timestamps, never epoch milliseconds.

use hearth_bus::ha::{
    HaCommand, HaHealth, HaLastReply, HaLastTranscript, HaListeningEvent, HaMessageEvent, HaReplyEvent, HaTimerEvent,
    HaTimers, HaWakeEvent,
};
use hearth_bus::service::status_topic;
use hearth_bus::vision::CameraEnabled;
use hearth_bus::{topic, Message};
use serde_json::{json, Value};

use crate::discovery::{object_id, services, Origin, ServiceLocations};

/// The values the assistant state sensor can take (the `enum` device class needs them listed).
pub const ASSISTANT_STATES: &[&str] = &["idle", "listening", "thinking", "speaking"];

/// The values a service health sensor can take.
pub const SERVICE_STATES: &[&str] = &["online", "unavailable", "offline"];

/// One entity: its id within the device, its platform, its config (abbreviated keys, with `p`).
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub id: String,
    pub platform: String,
    pub config: Value,
}

/// Reads a service status as HA availability: only `online` is available; `unavailable` (model or
/// device missing) and `offline` are not.
pub const AVAILABILITY_TEMPLATE: &str = "{{ 'online' if value_json.state == 'online' else 'offline' }}";

/// HA states are at most 255 characters; the whole text is in the attributes.
const TEXT_TEMPLATE: &str = "{{ value_json.text[:255] }}";

/// A value from a fixed list, or `None` (HA's "unknown") for anything a newer service might send.
fn enum_template(field: &str, options: &[&str]) -> String {
    let list = options.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(",");
    format!("{{% set s = value_json.{field} %}}{{{{ s if s in [{list}] else 'None' }}}}")
}

/// The health detail as attributes: what is missing, the command that fixes it (the detail's first
/// `backticked` part), and since when, as a timestamp.
const STATUS_ATTRIBUTES: &str = "{% set d = value_json.detail or '' %}{{ {'detail': value_json.detail, \
'fix': (d.split('`')[1] if d.count('`') >= 2 else None), \
'since': (((value_json.timestamp_ms / 1000) | timestamp_custom('%Y-%m-%dT%H:%M:%S+00:00', false)) if value_json.timestamp_ms else None)} | tojson }}";

/// The components of `site`, in a fixed order.
pub fn components(site: &str, origin: &Origin, locations: &ServiceLocations) -> Vec<Component> {
    let t = |suffix: &str| topic::topic(site, suffix);
    let bridge = status_topic(&origin.bridge_site, &origin.bridge_service);
    let serves = |service: &str| locations.serves(site, service);
    // Availability: the status topics of the services an entity needs, plus the bridge's when it
    // goes through the bridge. Only called for services that serve the site.
    let availability = |needs: &[&str], through_bridge: bool| -> Value {
        let mut topics: Vec<String> = needs.iter().filter_map(|s| locations.status_topic_for(site, s)).collect();
        if through_bridge {
            topics.push(bridge.clone());
        }
        Value::Array(topics.into_iter().map(|topic| json!({"topic": topic, "value_template": AVAILABILITY_TEMPLATE})).collect())
    };

    let mut list: Vec<(&str, &str, Value)> = Vec::new();
    if serves(services::BRAIN) {
        list.push(("assistant_state", "sensor", json!({
            "name": "Assistant state",
            "device_class": "enum",
            "options": ASSISTANT_STATES,
            "icon": "mdi:account-voice",
            "state_topic": t("brain/state"),
            "value_template": enum_template("state", ASSISTANT_STATES),
            "json_attributes_topic": t("brain/state"),
            "json_attributes_template": "{{ {'session_id': value_json.session_id} | tojson }}",
            "availability": availability(&[services::BRAIN], false),
        })));
    }
    // Typed requests (Home Assistant's "ask", `hearth say`) have transcripts too: this follows the
    // bridge that keeps it, not speech recognition.
    list.push(("last_transcript", "sensor", json!({
        "name": "Last transcript",
        "icon": "mdi:account-voice",
        "state_topic": t(HaLastTranscript::SUFFIX),
        "value_template": TEXT_TEMPLATE,
        "json_attributes_topic": t(HaLastTranscript::SUFFIX),
        "json_attributes_template": "{{ {'text': value_json.text, 'source': value_json.source, 'session_id': value_json.session_id, 'at': value_json.at} | tojson }}",
        "availability": availability(&[], true),
    })));
    if serves(services::BRAIN) {
        list.push(("last_reply", "sensor", json!({
            "name": "Last reply",
            "icon": "mdi:message-reply-text",
            "state_topic": t(HaLastReply::SUFFIX),
            "value_template": TEXT_TEMPLATE,
            "json_attributes_topic": t(HaLastReply::SUFFIX),
            "json_attributes_template": "{{ {'text': value_json.text, 'request': value_json.request, 'source': value_json.source, 'tool': value_json.tool, 'elapsed_s': value_json.elapsed_s, 'session_id': value_json.session_id, 'at': value_json.at} | tojson }}",
            "availability": availability(&[], true),
        })));
        list.push(("reply", "event", json!({
            "name": "Reply",
            "icon": "mdi:message-reply-text",
            "state_topic": t(HaReplyEvent::SUFFIX),
            "event_types": [HaReplyEvent::EVENT_TYPE],
            "availability": availability(&[services::BRAIN], true),
        })));
        // Messages and calls the brain hands off: the blueprint's trigger (every field is an attribute).
        list.push(("message_request", "event", json!({
            "name": "Message request",
            "icon": "mdi:message-arrow-right",
            "state_topic": t(HaMessageEvent::SUFFIX),
            "event_types": [HaMessageEvent::SEND, HaMessageEvent::CALL],
            "availability": availability(&[services::BRAIN], true),
        })));
        list.push(("ask", "text", json!({
            "name": "Ask",
            "icon": "mdi:chat-question",
            "command_topic": HaCommand::Ask.topic(site),
            "state_topic": t(HaLastTranscript::SUFFIX),
            "value_template": TEXT_TEMPLATE,
            "min": 0,
            "max": 255,
            "mode": "text",
            "availability": availability(&[services::BRAIN], true),
        })));
    }
    if serves(services::WAKE) {
        list.push(("wake", "event", json!({
            "name": "Wake word",
            "icon": "mdi:microphone-message",
            "state_topic": t(HaWakeEvent::SUFFIX),
            "event_types": [HaWakeEvent::EVENT_TYPE],
            "availability": availability(&[services::WAKE], true),
        })));
        // No static icon: MQTT has no icon templates, and Home Assistant's own switch icon follows
        // the state, where a fixed one would always claim one state.
        list.push(("wake_word", "switch", json!({
            "name": "Wake word detection",
            "entity_category": "config",
            "command_topic": HaCommand::WakeWord.topic(site),
            "payload_on": "ON",
            "payload_off": "OFF",
            "state_topic": t("wake/state"),
            "value_template": "{{ 'ON' if value_json.enabled else 'OFF' }}",
            "json_attributes_topic": t("wake/state"),
            "json_attributes_template": "{{ {'words': value_json.words} | tojson }}",
            "availability": availability(&[services::WAKE], true),
        })));
    }
    if serves(services::AUDIO) {
        list.push(("mic_mute", "switch", json!({
            "name": "Microphone mute",
            "entity_category": "config",
            "command_topic": HaCommand::MicMute.topic(site),
            "payload_on": "ON",
            "payload_off": "OFF",
            "state_topic": t("audio/mic"),
            "value_template": "{{ 'ON' if value_json.muted else 'OFF' }}",
            "availability": availability(&[services::AUDIO], true),
        })));
        list.push(("volume", "number", json!({
            "name": "Volume",
            "entity_category": "config",
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
        })));
        if serves(services::TTS) {
            // Home Assistant's notify title is not spoken: only the message is (see topics.md).
            list.push(("announce", "notify", json!({
                "name": "Announce",
                "icon": "mdi:bullhorn",
                "command_topic": HaCommand::Announce.topic(site),
                "availability": availability(&[services::TTS, services::AUDIO], true),
            })));
        }
    }
    if serves(services::CAMERA) {
        // On means the camera may take pictures; off is stored by the camera and outlasts restarts.
        list.push(("camera", "switch", json!({
            "name": "Camera",
            "entity_category": "config",
            "command_topic": HaCommand::Camera.topic(site),
            "payload_on": "ON",
            "payload_off": "OFF",
            "state_topic": t(CameraEnabled::SUFFIX),
            "value_template": "{{ 'ON' if value_json.enabled else 'OFF' }}",
            "availability": availability(&[services::CAMERA], true),
        })));
    }
    if serves(services::LISTEN) {
        list.push(("listen", "button", json!({
            "name": "Listen",
            "icon": "mdi:microphone",
            "command_topic": HaCommand::Listen.topic(site),
            "payload_press": "PRESS",
            "availability": availability(&[services::LISTEN], true),
        })));
        list.push(("listening", "event", json!({
            "name": "Listening",
            "icon": "mdi:ear-hearing",
            "state_topic": t(HaListeningEvent::SUFFIX),
            "event_types": [HaListeningEvent::STARTED, HaListeningEvent::ENDED],
            "availability": availability(&[services::LISTEN], true),
        })));
    }
    if serves(services::TIMERS) {
        list.push(("active_timers", "sensor", json!({
            "name": "Active timers",
            "icon": "mdi:timer-outline",
            "state_class": "measurement",
            "unit_of_measurement": "timers",
            "state_topic": t(HaTimers::SUFFIX),
            "value_template": "{{ value_json.count }}",
            "json_attributes_topic": t(HaTimers::SUFFIX),
            "json_attributes_template": "{{ {'timers': value_json.timers} | tojson }}",
            "availability": availability(&[services::TIMERS], true),
        })));
        list.push(("next_timer", "sensor", json!({
            "name": "Next timer",
            "device_class": "timestamp",
            "state_topic": t(HaTimers::SUFFIX),
            "value_template": "{{ value_json.next_due if value_json.next_due else 'None' }}",
            "json_attributes_topic": t(HaTimers::SUFFIX),
            "json_attributes_template": "{{ ({'name': value_json.timers[0].name, 'duration_s': value_json.timers[0].duration_s} if value_json.timers else {}) | tojson }}",
            "availability": availability(&[services::TIMERS], true),
        })));
        list.push(("timer", "event", json!({
            "name": "Timer",
            "icon": "mdi:timer-check-outline",
            "state_topic": t(HaTimerEvent::SUFFIX),
            "event_types": [HaTimerEvent::EVENT_TYPE],
            "availability": availability(&[services::TIMERS], true),
        })));
    }

    // Health: one diagnostic sensor per service the room uses, straight from its retained status
    // (so `offline` shows even when the service died), and the bridge's summary as a problem sensor.
    let mut health: Vec<(String, Value)> = Vec::new();
    for (service, home) in locations.services_of(site) {
        let status = status_topic(&home, &service);
        health.push((format!("{service}_status"), json!({
            "p": "sensor",
            "name": format!("{} status", service_title(&service)),
            "entity_category": "diagnostic",
            "icon": "mdi:heart-pulse",
            "device_class": "enum",
            "options": SERVICE_STATES,
            "state_topic": status,
            "value_template": enum_template("state", SERVICE_STATES),
            "json_attributes_topic": status,
            "json_attributes_template": STATUS_ATTRIBUTES,
        })));
    }
    health.push(("problem".into(), json!({
        "p": "binary_sensor",
        "name": "Problem",
        "entity_category": "diagnostic",
        "device_class": "problem",
        "state_topic": t(HaHealth::SUFFIX),
        "value_template": "{{ 'ON' if value_json.problem else 'OFF' }}",
        "json_attributes_topic": t(HaHealth::SUFFIX),
        "json_attributes_template": "{{ {'problems': value_json.problems} | tojson }}",
        "availability": availability(&[], true),
    })));

    let ids = object_id(site);
    list.into_iter()
        .map(|(id, platform, mut config)| {
            config["p"] = json!(platform);
            (id.to_string(), config)
        })
        .chain(health)
        .map(|(id, mut config)| {
            let platform = config["p"].as_str().expect("every component has a platform").to_string();
            config["unique_id"] = json!(format!("{ids}_{id}"));
            // A stable entity id (`switch.hearth_kitchen_mic_mute`) for automations and tests.
            config["object_id"] = json!(format!("{ids}_{id}"));
            if config.get("availability").is_some() {
                config["availability_mode"] = json!("all");
            }
            Component { id, platform, config }
        })
        .collect()
}

fn service_title(service: &str) -> String {
    match service {
        "asr" => "Speech recognition".into(),
        "tts" => "Speech".into(),
        "llm" => "Language model".into(),
        "audio" => "Audio".into(),
        "wake" => "Wake word".into(),
        "listen" => "Listening".into(),
        "camera" => "Camera".into(),
        other => {
            let mut c = other.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn origin() -> Origin {
        Origin {
            discovery_prefix: "homeassistant".into(),
            bridge_site: "default".into(),
            bridge_service: "ha".into(),
            version: "0.1.0".into(),
            rooms: BTreeMap::new(),
            configuration_url: None,
        }
    }

    fn ids(list: &[Component]) -> Vec<&str> {
        list.iter().map(|c| c.id.as_str()).collect()
    }

    fn availability(list: &[Component], id: &str) -> Vec<String> {
        let c = list.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no {id}"));
        c.config["availability"].as_array().unwrap().iter().map(|a| a["topic"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_satellite_gets_only_what_it_has() {
        let mut loc = ServiceLocations::default();
        for (service, site) in [("brain", "default"), ("wake", "default"), ("audio", "default"), ("audio", "kitchen"), ("listen", "kitchen"), ("asr", "default")] {
            loc.insert(service, site);
        }
        let kitchen = components("kitchen", &origin(), &loc);
        let names = ids(&kitchen);
        assert!(!names.contains(&"wake_word") && !names.contains(&"wake"), "{names:?}");
        assert!(!names.contains(&"announce"), "no TTS anywhere: {names:?}");
        assert!(names.contains(&"mic_mute") && names.contains(&"listen") && names.contains(&"assistant_state"));
        assert_eq!(availability(&kitchen, "mic_mute"), ["hearth/kitchen/service/audio/status", "hearth/default/service/ha/status"]);
        assert_eq!(availability(&kitchen, "assistant_state"), ["hearth/default/service/brain/status"]);
        // A typed request has a transcript too: only the bridge matters.
        assert_eq!(availability(&kitchen, "last_transcript"), ["hearth/default/service/ha/status"]);
        // Health of what the kitchen uses, from where each runs.
        let health: Vec<&str> = names.iter().copied().filter(|n| n.ends_with("_status")).collect();
        assert_eq!(health, ["audio_status", "listen_status", "brain_status", "asr_status"]);
        let asr = kitchen.iter().find(|c| c.id == "asr_status").unwrap();
        assert_eq!(asr.config["state_topic"], "hearth/default/service/asr/status");
        assert_eq!(asr.config["entity_category"], "diagnostic");
        let default = components("default", &origin(), &loc);
        assert!(ids(&default).contains(&"wake_word"));
    }

    #[test]
    fn a_room_with_a_camera_gets_its_off_switch() {
        let mut loc = ServiceLocations::default();
        for (service, site) in [("brain", "default"), ("camera", "kitchen"), ("vision", "default")] {
            loc.insert(service, site);
        }
        let kitchen = components("kitchen", &origin(), &loc);
        let camera = kitchen.iter().find(|c| c.id == "camera").expect("a camera switch");
        assert_eq!(camera.platform, "switch");
        assert_eq!(camera.config["command_topic"], "hearth/kitchen/ha/camera/set");
        assert_eq!(camera.config["state_topic"], "hearth/kitchen/camera/enabled");
        assert_eq!(availability(&kitchen, "camera"), ["hearth/kitchen/service/camera/status", "hearth/default/service/ha/status"]);
        assert!(ids(&kitchen).contains(&"camera_status"));
        assert!(!ids(&components("default", &origin(), &loc)).contains(&"camera"), "the camera is the kitchen's");
    }

    #[test]
    fn nothing_seen_is_a_bare_device_with_its_health() {
        let list = components("default", &origin(), &ServiceLocations::default());
        assert_eq!(ids(&list), ["last_transcript", "problem"]);
    }
}
