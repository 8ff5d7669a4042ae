//! Every discovery payload checked against the MQTT integration's documented schema: the keys each
//! platform requires and allows, the device-based discovery rules, value constraints, and that every
//! template reads fields the bus messages really have.
//!
//! The tables are written from Home Assistant's docs (`integrations/mqtt` "Device discovery payload"
//! and the per-platform pages `sensor.mqtt`, `switch.mqtt`, `number.mqtt`, `button.mqtt`,
//! `event.mqtt`, `notify.mqtt`, `text.mqtt`, `binary_sensor.mqtt`). The same payloads are checked against
//! a real Home Assistant by the `real_ha` suite.

use std::collections::{BTreeMap, BTreeSet};

use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::audio::{MicState, Volume};
use hearth_bus::brain::{AssistantState, Reply, ReplySource, StateChanged};
use hearth_bus::ha::{
    HaCommand, HaHealth, HaLastReply, HaLastTranscript, HaListeningEvent, HaMessageEvent, HaReplyEvent, HaTimer, HaTimerEvent, HaTimers,
    HaWakeEvent,
};
use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::timer::{Timer, TimerState};
use hearth_bus::topic::topic_of;
use hearth_bus::vision::CameraEnabled;
use hearth_bus::wake::WakeState;
use hearth_bus::Message;
use hearth_ha::discovery::{device_discovery, Origin, ServiceLocations};
use serde_json::Value;

/// Abbreviations used in discovery payloads (from the docs' "Supported abbreviations" lists).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("dev", "device"), ("o", "origin"), ("cmps", "components"), ("p", "platform"), ("uniq_id", "unique_id"),
    ("stat_t", "state_topic"), ("cmd_t", "command_topic"), ("val_tpl", "value_template"), ("avty", "availability"),
    ("avty_mode", "availability_mode"), ("dev_cla", "device_class"), ("unit_of_meas", "unit_of_measurement"),
    ("stat_cla", "state_class"), ("json_attr_t", "json_attributes_topic"), ("json_attr_tpl", "json_attributes_template"),
    ("evt_typ", "event_types"), ("pl_on", "payload_on"), ("pl_off", "payload_off"), ("pl_prs", "payload_press"),
    ("ic", "icon"), ("ops", "options"), ("ent_cat", "entity_category"), ("obj_id", "object_id"),
];
const DEVICE_ABBREVIATIONS: &[(&str, &str)] = &[
    ("cu", "configuration_url"), ("cns", "connections"), ("ids", "identifiers"), ("mf", "manufacturer"),
    ("mdl", "model"), ("mdl_id", "model_id"), ("hw", "hw_version"), ("sw", "sw_version"), ("sa", "suggested_area"),
    ("sn", "serial_number"),
];
const ORIGIN_ABBREVIATIONS: &[(&str, &str)] = &[("sw", "sw_version"), ("url", "support_url")];

const DEVICE_KEYS: &[&str] = &[
    "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model", "model_id", "name",
    "serial_number", "suggested_area", "sw_version", "via_device",
];
const ORIGIN_KEYS: &[&str] = &["name", "sw_version", "support_url"];
/// Shared options allowed at the root of a device discovery payload besides `device` and `origin`.
const ROOT_KEYS: &[&str] = &["device", "origin", "components", "availability", "availability_mode",
    "availability_topic", "availability_template", "payload_available", "payload_not_available", "command_topic",
    "state_topic", "qos", "encoding", "~"];
const AVAILABILITY_KEYS: &[&str] = &["topic", "payload_available", "payload_not_available", "value_template"];

/// Options every MQTT entity platform documents.
const COMMON_KEYS: &[&str] = &[
    "platform", "availability", "availability_mode", "availability_template", "availability_topic", "device",
    "enabled_by_default", "encoding", "entity_category", "entity_picture", "icon", "json_attributes_template",
    "json_attributes_topic", "name", "object_id", "default_entity_id", "payload_available", "payload_not_available",
    "qos", "unique_id",
];

struct Platform {
    name: &'static str,
    required: &'static [&'static str],
    allowed: &'static [&'static str],
}

const PLATFORMS: &[Platform] = &[
    Platform {
        name: "sensor",
        required: &["state_topic"],
        allowed: &["device_class", "expire_after", "force_update", "last_reset_value_template", "options",
            "suggested_display_precision", "state_class", "state_topic", "unit_of_measurement", "value_template"],
    },
    Platform {
        name: "binary_sensor",
        required: &["state_topic"],
        allowed: &["device_class", "expire_after", "force_update", "off_delay", "payload_off", "payload_on",
            "state_topic", "value_template"],
    },
    Platform {
        name: "switch",
        required: &["command_topic"],
        allowed: &["command_template", "command_topic", "device_class", "optimistic", "payload_off", "payload_on",
            "retain", "state_off", "state_on", "state_topic", "value_template"],
    },
    Platform {
        name: "number",
        required: &["command_topic"],
        allowed: &["command_template", "command_topic", "device_class", "max", "min", "mode", "optimistic",
            "payload_reset", "retain", "state_topic", "step", "unit_of_measurement", "value_template"],
    },
    Platform {
        name: "button",
        required: &["command_topic"],
        allowed: &["command_template", "command_topic", "device_class", "payload_press", "retain"],
    },
    Platform {
        name: "event",
        required: &["state_topic", "event_types"],
        allowed: &["device_class", "event_types", "state_topic", "value_template"],
    },
    Platform {
        name: "notify",
        // The docs list command_topic as optional, but a notify entity without one cannot send.
        required: &["command_topic"],
        allowed: &["command_template", "command_topic", "retain"],
    },
    Platform {
        name: "text",
        required: &["command_topic"],
        allowed: &["command_template", "command_topic", "max", "min", "mode", "pattern", "retain", "state_topic",
            "value_template"],
    },
];

fn expand(map: &serde_json::Map<String, Value>, table: &[(&str, &str)]) -> BTreeMap<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let full = table.iter().find(|(a, _)| a == k).map(|(_, f)| f.to_string()).unwrap_or_else(|| k.clone());
            (full, v.clone())
        })
        .collect()
}

/// Every service, for samples of their status topics.
const SERVICES: &[&str] = &["audio", "wake", "listen", "asr", "brain", "tts", "timers", "tools", "llm", "ha", "camera"];
const SITES: &[&str] = &["default", "kitchen", "living_room"];

/// A sample of each state topic's message on every site, to check that templates read fields that exist.
fn samples() -> BTreeMap<String, Value> {
    fn entry<M: Message>(site: &str, m: M) -> (String, Value) {
        (topic_of::<M>(site), serde_json::from_slice(&m.to_payload().unwrap()).unwrap())
    }
    let mut all = BTreeMap::new();
    for site in SITES {
        let timer = HaTimer { name: Some("pasta".into()), duration_s: 600.0, due: "2023-11-14T22:13:20Z".into() };
        all.extend([
            entry(site, StateChanged { state: AssistantState::Idle, session_id: None, timestamp_ms: 1 }),
            entry(site, Transcript { session_id: "s".into(), text: "hi".into(), source: TranscriptSource::Asr, audio_ms: 1, processing_ms: 1 }),
            entry(site, Reply { session_id: "s".into(), request: "hi".into(), text: "Hello.".into(), source: ReplySource::Llm, tool: None, elapsed_ms: 5 }),
            entry(site, HaWakeEvent { event_type: HaWakeEvent::EVENT_TYPE.into(), word: "hey_jarvis".into(), score: 0.9, session_id: "s".into(), timestamp_ms: 1 }),
            entry(site, MicState { muted: false }),
            entry(site, CameraEnabled { enabled: true }),
            entry(site, WakeState { enabled: true, words: vec!["hey_jarvis".into()] }),
            entry(site, Volume { volume: 50 }),
            entry(site, TimerState { timers: vec![Timer { id: "t1".into(), name: None, site: site.to_string(), duration_ms: 1, due_at_ms: 1, created_at_ms: 1 }] }),
            entry(site, HaLastTranscript { text: "hi".into(), source: "typed".into(), session_id: "s".into(), at: "2023-11-14T22:13:20Z".into() }),
            entry(site, HaLastReply { text: "Hello.".into(), request: "hi".into(), source: "intent".into(), tool: None, elapsed_s: 0.5, session_id: "s".into(), at: "2023-11-14T22:13:20Z".into() }),
            entry(site, HaTimers { count: 1, next_due: Some(timer.due.clone()), timers: vec![timer] }),
            entry(site, HaHealth { problem: true, problems: vec!["asr: offline".into()] }),
            entry(site, HaTimerEvent { event_type: HaTimerEvent::EVENT_TYPE.into(), timer_id: "t".into(), name: None, duration_s: 1.0, late_s: 0.0, sentence: "Done.".into() }),
            entry(site, HaListeningEvent { event_type: HaListeningEvent::ENDED.into(), session_id: "s".into(), reason: "silence".into(), speech_s: Some(1.0) }),
            entry(site, HaReplyEvent { event_type: HaReplyEvent::EVENT_TYPE.into(), session_id: "s".into(), request: "hi".into(), text: "Hello.".into(), interrupted: false }),
            entry(site, HaMessageEvent { event_type: HaMessageEvent::SEND.into(), request_id: "r".into(), contact: "Alex".into(), channel: "signal".into(), address: "+1".into(), text: "hi".into(), result_topic: format!("hearth/{site}/message/result") }),
        ]);
        for service in SERVICES {
            let status = ServiceStatus { state: ServiceState::Unavailable, detail: Some("x missing — run `hearth models pull x`".into()), timestamp_ms: 1 };
            all.insert(status_topic(site, service), serde_json::to_value(status).unwrap());
        }
    }
    all
}

/// The `value_json.<field>` names a template reads at the top level.
fn fields_read(template: &str) -> BTreeSet<String> {
    template
        .match_indices("value_json.")
        .map(|(i, m)| template[i + m.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect()
}

fn check_template_fields(what: &str, template: &str, sample: &Value) {
    for field in fields_read(template) {
        assert!(sample.get(&field).is_some(), "{what}: template reads value_json.{field}, not in {sample}");
    }
    assert_eq!(template.matches("{{").count(), template.matches("}}").count(), "{what}: unbalanced {{ }}");
    assert_eq!(template.matches("{%").count(), template.matches("%}").count(), "{what}: unbalanced {{% %}}");
}

fn valid_topic(t: &str) -> bool {
    !t.is_empty() && !t.contains(['+', '#']) && !t.starts_with('/') && !t.ends_with('/')
}

fn check_device_payload(site: &str, payload: &Value) -> usize {
    let root = expand(payload.as_object().expect("payload is an object"), ABBREVIATIONS);
    for key in root.keys() {
        assert!(ROOT_KEYS.contains(&key.as_str()), "root key {key} is not a shared option");
    }
    // Device-based discovery: device and origin are mandatory.
    let device = expand(root["device"].as_object().expect("device mapping"), DEVICE_ABBREVIATIONS);
    for key in device.keys() {
        assert!(DEVICE_KEYS.contains(&key.as_str()), "device key {key}");
    }
    assert!(device.contains_key("identifiers") || device.contains_key("connections"));
    let origin = expand(root["origin"].as_object().expect("origin mapping"), ORIGIN_ABBREVIATIONS);
    assert!(origin.get("name").and_then(Value::as_str).is_some_and(|n| !n.is_empty()), "origin.name is required");
    for key in origin.keys() {
        assert!(ORIGIN_KEYS.contains(&key.as_str()), "origin key {key}");
    }

    let samples = samples();
    let components = root["components"].as_object().expect("components mapping");
    assert!(!components.is_empty());
    let mut unique_ids = BTreeSet::new();
    for (id, component) in components {
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "component id {id}");
        let c = expand(component.as_object().expect("component mapping"), ABBREVIATIONS);
        let platform_name = c.get("platform").and_then(Value::as_str).unwrap_or_else(|| panic!("{id}: platform missing"));
        let platform = PLATFORMS.iter().find(|p| p.name == platform_name).unwrap_or_else(|| panic!("{id}: platform {platform_name}"));
        assert!(c.len() > 1, "{id}: needs at least one option besides the platform");
        for key in platform.required {
            assert!(c.contains_key(*key), "{id} ({platform_name}) lacks required {key}");
        }
        for key in c.keys() {
            assert!(
                COMMON_KEYS.contains(&key.as_str()) || platform.allowed.contains(&key.as_str()),
                "{id} ({platform_name}) has {key}, not in the platform's schema"
            );
        }
        // Entity components need a unique id in device-based discovery.
        let uid = c.get("unique_id").and_then(Value::as_str).unwrap_or_else(|| panic!("{id}: unique_id"));
        assert!(unique_ids.insert(uid.to_string()), "{id}: duplicate unique_id {uid}");

        for (key, value) in &c {
            if key.ends_with("_topic") {
                assert!(valid_topic(value.as_str().unwrap()), "{id}.{key} = {value}");
            }
        }
        if let Some(mode) = c.get("availability_mode") {
            assert!(["all", "any", "latest"].contains(&mode.as_str().unwrap()), "{id}: availability_mode");
        }
        if let Some(list) = c.get("availability") {
            let list = list.as_array().expect("availability is a list");
            assert!(!list.is_empty(), "{id}: empty availability list");
            for a in list {
                let a = a.as_object().unwrap();
                for key in a.keys() {
                    assert!(AVAILABILITY_KEYS.contains(&key.as_str()), "{id}: availability key {key}");
                }
                let topic = a["topic"].as_str().expect("availability topic");
                assert!(valid_topic(topic) && topic.ends_with("/status"), "{id}: {topic}");
                let status = ServiceStatus { state: ServiceState::Online, detail: None, timestamp_ms: 1 };
                let sample = serde_json::to_value(status).unwrap();
                check_template_fields(id, a["value_template"].as_str().unwrap(), &sample);
            }
        }
        // Command topics are the bridge's own; state topics are real bus messages.
        if let Some(t) = c.get("command_topic").and_then(Value::as_str) {
            assert!(HaCommand::ALL.iter().any(|cmd| cmd.topic(site) == t), "{id}: command topic {t}");
        }
        if let Some(t) = c.get("state_topic").and_then(Value::as_str) {
            let sample = samples.get(t).unwrap_or_else(|| panic!("{id}: state topic {t} is no known bus message"));
            for key in ["value_template", "json_attributes_template"] {
                if let Some(tpl) = c.get(key).and_then(Value::as_str) {
                    check_template_fields(&format!("{id}.{key}"), tpl, sample);
                }
            }
        }
        match platform_name {
            "sensor" => match c.get("device_class").and_then(Value::as_str) {
                Some("enum") => {
                    let options = c["options"].as_array().expect("enum sensors list their options");
                    assert!(!options.is_empty());
                    assert!(!c.contains_key("state_class") && !c.contains_key("unit_of_measurement"), "{id}: enum sensors are not numeric");
                }
                Some("timestamp") => {
                    assert!(!c.contains_key("state_class") && !c.contains_key("unit_of_measurement"), "{id}: timestamps are not measurements");
                }
                _ => {
                    assert!(!c.contains_key("options"), "{id}: options need the enum device class");
                    if let Some(sc) = c.get("state_class") {
                        assert!(["measurement", "total", "total_increasing", "measurement_angle"].contains(&sc.as_str().unwrap()));
                    }
                }
            },
            "number" => {
                let (min, max, step) = (c["min"].as_f64().unwrap(), c["max"].as_f64().unwrap(), c["step"].as_f64().unwrap());
                assert!(min < max && step > 0.0, "{id}: range");
                assert!(["auto", "box", "slider"].contains(&c["mode"].as_str().unwrap()));
            }
            "text" => {
                let (min, max) = (c["min"].as_u64().unwrap(), c["max"].as_u64().unwrap());
                assert!(min <= max && max <= 255, "{id}: text length");
                assert!(["text", "password"].contains(&c["mode"].as_str().unwrap()));
            }
            "event" => {
                let types = c["event_types"].as_array().unwrap();
                assert!(!types.is_empty() && types.iter().all(Value::is_string));
                let sample = &samples[c["state_topic"].as_str().unwrap()];
                let t = sample["event_type"].as_str().expect("event payloads carry event_type");
                assert!(types.iter().any(|x| x == t), "{id}: event_type {t} not announced");
            }
            "switch" => {
                // The state template must render exactly the payloads HA compares with.
                let tpl = c["value_template"].as_str().unwrap();
                for key in ["payload_on", "payload_off"] {
                    let p = c[key].as_str().unwrap();
                    assert!(tpl.contains(&format!("'{p}'")), "{id}: template never renders {p}");
                }
            }
            _ => {}
        }
    }
    components.len()
}

fn origin() -> Origin {
    Origin {
        discovery_prefix: "homeassistant".into(),
        bridge_site: "default".into(),
        bridge_service: "ha".into(),
        version: "0.1.0".into(),
        rooms: [("kitchen".to_string(), "Kitchen".to_string())].into(),
        configuration_url: Some("http://hearth.local:8080/".into()),
    }
}

/// A house: the shared services and a full room at `default`, a full satellite in the kitchen, and a
/// living room with a microphone and push-to-talk only.
fn house() -> ServiceLocations {
    let mut locations = ServiceLocations::default();
    for service in ["brain", "asr", "tts", "timers", "tools", "llm", "audio", "wake", "listen"] {
        locations.insert(service, "default");
    }
    for (service, site) in [("audio", "kitchen"), ("wake", "kitchen"), ("listen", "kitchen"), ("audio", "living_room"), ("listen", "living_room"), ("camera", "kitchen")] {
        locations.insert(service, site);
    }
    locations
}

#[test]
fn every_discovery_payload_follows_the_schema() {
    let locations = house();
    for site in SITES {
        let d = device_discovery(site, &origin(), &locations);
        assert_eq!(d.topic, format!("homeassistant/device/hearth_{site}/config"));
        check_device_payload(site, &d.payload);
        let cmps = d.payload["cmps"].as_object().unwrap();
        let platforms: BTreeSet<_> = cmps.values().map(|c| c["p"].as_str().unwrap().to_string()).collect();
        for p in ["sensor", "binary_sensor", "switch", "number", "button", "event", "notify", "text"] {
            assert!(platforms.contains(p), "{site}: {p} missing");
        }
        for id in ["assistant_state", "last_transcript", "last_reply", "reply", "ask", "mic_mute", "volume", "announce",
            "listen", "listening", "active_timers", "next_timer", "timer", "problem", "audio_status", "brain_status", "asr_status"]
        {
            assert!(cmps.contains_key(id), "{site}: {id} missing");
        }
        let has_wake = site != &"living_room";
        assert_eq!(cmps.contains_key("wake_word") && cmps.contains_key("wake") && cmps.contains_key("wake_status"), has_wake, "{site}");
        assert_eq!(cmps.contains_key("camera") && cmps.contains_key("camera_status"), site == &"kitchen", "{site}: the camera is the kitchen's");
        // Controls are configuration, health is diagnostic, and nothing is in epoch milliseconds.
        for id in ["mic_mute", "wake_word", "volume", "camera"] {
            if let Some(c) = cmps.get(id) {
                assert_eq!(c["entity_category"], "config", "{site}.{id}");
            }
        }
        for (id, c) in cmps {
            if id.ends_with("_status") || id == "problem" {
                assert_eq!(c["entity_category"], "diagnostic", "{site}.{id}");
            }
            let text = c.to_string();
            assert!(!text.contains("_ms'") && !text.contains("due_at_ms"), "{site}.{id} exposes milliseconds: {text}");
        }
    }
    assert_eq!(device_discovery("kitchen", &origin(), &locations).payload["dev"]["name"], "Kitchen assistant");
}

#[test]
fn the_checker_rejects_what_home_assistant_would() {
    let good = device_discovery("default", &origin(), &house()).payload;
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("no origin", Box::new(|p| { p.as_object_mut().unwrap().remove("o"); })),
        ("no device ids", Box::new(|p| { p["dev"].as_object_mut().unwrap().remove("ids"); })),
        ("switch without command topic", Box::new(|p| { p["cmps"]["mic_mute"].as_object_mut().unwrap().remove("command_topic"); })),
        ("unknown key", Box::new(|p| { p["cmps"]["volume"]["brightness"] = Value::Bool(true); })),
        ("no unique id", Box::new(|p| { p["cmps"]["listen"].as_object_mut().unwrap().remove("unique_id"); })),
        ("template reads a missing field", Box::new(|p| { p["cmps"]["volume"]["value_template"] = "{{ value_json.level }}".into(); })),
        ("event type not announced", Box::new(|p| { p["cmps"]["wake"]["event_types"] = serde_json::json!(["pressed"]); })),
        ("text too long", Box::new(|p| { p["cmps"]["ask"]["max"] = 1000.into(); })),
        ("wildcard topic", Box::new(|p| { p["cmps"]["last_reply"]["state_topic"] = "hearth/+/brain/reply".into(); })),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_device_payload("default", &bad)));
        assert!(caught.is_err(), "the checker accepted: {what}");
    }
}
