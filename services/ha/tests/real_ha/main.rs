//! Hearth against a real Home Assistant: Home Assistant Core (from PyPI, in its own venv, installed by
//! scripts/install-home-assistant.sh) is started, onboarded headless and given the MQTT integration
//! on Hearth's embedded broker; Hearth's services run in this process, two rooms of them. Every entity
//! is checked in Home Assistant itself: discovery, the device and entity registries, commands,
//! states after a turn, events, availability when services stop and crash, restarts of the services,
//! of the bridge and of Home Assistant's MQTT side, and the privacy case: a muted microphone and a
//! wake word switched off stay so through a crash and restart, and Home Assistant never shows them on.
//!
//! Slow (Home Assistant takes a while to start), so `cargo test` leaves it out; scripts/test.sh runs
//! it: `cargo test -p hearth-ha --test real_ha`.

mod ha;
mod http;
mod house;
mod messages;

use std::time::{Duration, Instant};

use hearth_bus::audio::AudioFrame;
use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::{Bus, BusConfig};
use serde_json::{json, Value};

use ha::HomeAssistant;
use house::{node_file, start, Service};

/// One Home Assistant at a time: each test starts its own, and two at once on a loaded machine would
/// only make both slow.
pub static ONE_HOME_ASSISTANT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Longest wait for Home Assistant to show one thing.
const SHOW: Duration = Duration::from_secs(60);

fn id(domain: &str, site: &str, entity: &str) -> String {
    format!("{domain}.hearth_{site}_{entity}")
}

fn available(state: Option<&Value>) -> bool {
    state.is_some_and(|s| s["state"] != "unavailable")
}

fn silence_wav(path: &std::path::Path) {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for _ in 0..1600 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hearth_in_a_real_home_assistant() {
    let Some(python) = ha::python() else { return };
    let Some(ort) = hearth_wake::testkit::onnxruntime() else { return };
    let _one = ONE_HOME_ASSISTANT.lock().await;
    let started = Instant::now();
    let _ = tracing_subscriber_init();
    let dir = tempfile::tempdir().unwrap();
    let broker = hearth_broker::start_on_free_ports().expect("broker starts");
    let bus = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };

    // Two rooms. The living room (site `default`) has everything: a microphone (silence from a file,
    // a speaker that plays instantly), the wake word (the stand-in model), the listener, and the
    // shared brain, timers, TTS and bridge. The kitchen is a satellite: a microphone and speaker, and
    // later a listener whose VAD model is missing. (Wake and listen services subscribe to every site,
    // so a second one answers the living room too; the kitchen's starts after the living room's
    // push-to-talk has been checked.)
    let wav = dir.path().join("silence.wav");
    silence_wav(&wav);
    let standin = hearth_wake::testkit::standin_models_dir().join("openwakeword");
    let audio = format!("[audio]\ninput = \"file:{}\"\noutput = \"none\"\noutput_pacing = \"fast\"\ntail_silence_ms = 100\n", wav.display());
    let living = node_file(
        &bus,
        dir.path(),
        "default",
        &format!(
            "{audio}[wake]\nmodel_dir = \"{}\"\nwords = [{{ model = \"tone_1k\" }}]\nonnxruntime = \"{}\"\n\
             [listen]\nno_speech_timeout_ms = 1000\nonnxruntime = \"{}\"\n[brain]\nuse_llm = false\n\
             [ha]\ndiscovery = \"entity\"\ndiscovery_delay_ms = 300\nbirth_jitter_ms = 0\nsites = [\"default\"]\n\
             configuration_url = \"http://hearth.local:8080/\"\n[ha.rooms]\ndefault = \"Living room\"\n",
            standin.display(),
            ort.display(),
            ort.display(),
        ),
    );
    // The kitchen's microphone sends nothing (the living room's wake word and listener would spend
    // CPU on its frames); its listener's VAD model is missing.
    let kitchen_audio = "[audio]\ninput = \"none\"\noutput = \"none\"\noutput_pacing = \"fast\"\n";
    let kitchen = node_file(&bus, dir.path(), "kitchen", &format!("{kitchen_audio}[listen]\nvad_model = \"{}\"\n", dir.path().join("missing/silero_vad.onnx").display()));

    let mut services: Vec<Service> = Vec::new();
    for name in ["audio", "wake", "listen", "brain", "timers", "tts", "ha"] {
        services.push(start(&bus, &living, name).await);
    }
    services.push(start(&bus, &kitchen, "audio").await);
    let listen_ready = shared_has("models/silero-vad/silero_vad.onnx");

    let ha = HomeAssistant::start(&python, dir.path(), bus.port).await.unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("Home Assistant {} up and onboarded after {:?}", ha.version, started.elapsed());

    // Discovery: every entity of both rooms, available where its services are online.
    let living_entities = [
        ("sensor", "assistant_state"), ("sensor", "last_transcript"), ("sensor", "last_reply"), ("event", "reply"),
        ("text", "ask"), ("event", "wake"), ("switch", "wake_word"), ("switch", "mic_mute"), ("number", "volume"),
        ("button", "listen"), ("event", "listening"), ("sensor", "active_timers"), ("sensor", "next_timer"),
        ("event", "timer"), ("binary_sensor", "problem"), ("sensor", "audio_status"), ("sensor", "wake_status"),
        ("sensor", "listen_status"), ("sensor", "brain_status"), ("sensor", "timers_status"), ("sensor", "tts_status"),
    ];
    for (domain, entity) in living_entities {
        let e = id(domain, "default", entity);
        let must_be_available = listen_ready || !["listen", "listening"].contains(&entity);
        ha.wait_for(&e, "it to exist", SHOW, |s| s.is_some() && (!must_be_available || available(s))).await;
    }
    for (domain, entity) in [("switch", "mic_mute"), ("number", "volume"), ("sensor", "last_transcript"), ("sensor", "assistant_state")] {
        ha.wait_for(&id(domain, "kitchen", entity), "it to be available", SHOW, available).await;
    }
    // No phantom controls: the kitchen has no wake word and no listener of its own, so none of the
    // living room's show up there.
    for (domain, entity) in [("switch", "wake_word"), ("event", "wake"), ("button", "listen"), ("event", "listening")] {
        assert!(ha.state(&id(domain, "kitchen", entity)).await.unwrap().is_none(), "kitchen has a phantom {entity}");
    }

    // Devices and the entity registry: names from the rooms, areas, the configuration page,
    // categories.
    let devices = ha.ws(json!({"type": "config/device_registry/list"})).unwrap();
    let device = |ident: &str| -> Value {
        devices.as_array().unwrap().iter().find(|d| d["identifiers"].to_string().contains(ident)).cloned().unwrap_or_else(|| panic!("no device {ident}"))
    };
    let (living_dev, kitchen_dev) = (device("hearth_default"), device("hearth_kitchen"));
    assert_eq!(living_dev["name"], "Living room assistant");
    assert_eq!(kitchen_dev["name"], "Kitchen assistant");
    assert_eq!(living_dev["configuration_url"], "http://hearth.local:8080/");
    let areas = ha.ws(json!({"type": "config/area_registry/list"})).unwrap();
    let area_name = |area_id: &Value| areas.as_array().unwrap().iter().find(|a| &a["area_id"] == area_id).map(|a| a["name"].clone());
    assert_eq!(area_name(&kitchen_dev["area_id"]), Some(json!("Kitchen")));
    let category = |entity_id: String| ha.ws(json!({"type": "config/entity_registry/get", "entity_id": entity_id})).unwrap()["entity_category"].clone();
    assert_eq!(category(id("switch", "default", "mic_mute")), "config");
    assert_eq!(category(id("number", "default", "volume")), "config");
    assert_eq!(category(id("sensor", "default", "brain_status")), "diagnostic");
    assert_eq!(category(id("binary_sensor", "default", "problem")), "diagnostic");
    assert_eq!(category(id("sensor", "default", "last_reply")), Value::Null);

    // Commands from Home Assistant, and the states they lead to.
    ha.call("number.set_value", &id("number", "default", "volume"), json!({"value": 35})).await.unwrap();
    ha.wait_for(&id("number", "default", "volume"), "35 %", SHOW, |s| s.is_some_and(|s| s["state"].as_str().and_then(|v| v.parse::<f64>().ok()) == Some(35.0))).await;
    assert_eq!(ha.state(&id("number", "default", "volume")).await.unwrap().unwrap()["attributes"]["unit_of_measurement"], "%");
    if listen_ready {
        // Push to talk: listening starts, nobody speaks, it ends; both are events.
        let mark = ha.mark();
        ha.call("button.press", &id("button", "default", "listen"), json!({})).await.unwrap();
        let listening = ha.wait_for(&id("event", "default", "listening"), "listening ended", SHOW, |s| {
            s.is_some_and(|s| s["attributes"]["event_type"] == "ended")
        }).await;
        assert_eq!(listening["attributes"]["reason"], "no_speech", "{listening}");
        assert!(ha.changes_since(mark, &id("event", "default", "listening")).len() >= 2, "started and ended");
    }

    // Health: the kitchen gets a listener whose model is missing. Its controls appear, unavailable
    // (the living room's listener is fine, but it is not the kitchen's), and it says what is missing
    // and how to fix it.
    services.push(start(&bus, &kitchen, "listen").await);
    ha.wait_state(&id("button", "kitchen", "listen"), "unavailable", SHOW).await;
    let status = ha.wait_state(&id("sensor", "kitchen", "listen_status"), "unavailable", SHOW).await;
    assert_eq!(status["attributes"]["fix"], "hearth models pull silero-vad", "{status}");
    assert!(status["attributes"]["detail"].as_str().unwrap().contains("silero"), "{status}");
    assert!(status["attributes"]["since"].as_str().unwrap().contains('T'), "a timestamp: {status}");
    let problem = ha.wait_state(&id("binary_sensor", "kitchen", "problem"), "on", SHOW).await;
    assert!(problem["attributes"]["problems"].to_string().contains("listen: unavailable"), "{problem}");
    if listen_ready {
        ha.wait_state(&id("binary_sensor", "default", "problem"), "off", SHOW).await;
    }

    // A typed turn through Home Assistant's "Ask": transcript, reply, timers, the reply spoken, and the
    // timer finishing, each in Home Assistant.
    ha.wait_state(&id("sensor", "default", "active_timers"), "0", SHOW).await;
    ha.call("text.set_value", &id("text", "default", "ask"), json!({"value": "set a timer for 4 seconds"})).await.unwrap();
    let transcript = ha.wait_state(&id("sensor", "default", "last_transcript"), "set a timer for 4 seconds", SHOW).await;
    assert_eq!(transcript["attributes"]["source"], "typed");
    let reply = ha.wait_for(&id("sensor", "default", "last_reply"), "the reply", SHOW, |s| s.is_some_and(|s| s["attributes"]["request"] == "set a timer for 4 seconds")).await;
    assert!(reply["attributes"]["elapsed_s"].is_number(), "durations in seconds: {reply}");
    assert_eq!(reply["attributes"]["tool"], "set_timer", "{reply}");
    let reply_text = reply["state"].as_str().unwrap().to_string();
    assert!(!reply_text.is_empty());
    let timers = ha.wait_state(&id("sensor", "default", "active_timers"), "1", SHOW).await;
    assert_eq!(timers["attributes"]["unit_of_measurement"], "timers");
    assert_eq!(timers["attributes"]["timers"][0]["duration_s"], 4.0, "{timers}");
    let next = ha.state(&id("sensor", "default", "next_timer")).await.unwrap().unwrap();
    assert_eq!(next["attributes"]["device_class"], "timestamp");
    assert!(next["state"].as_str().unwrap().contains('T'), "a timestamp: {next}");
    let spoken = ha.wait_for(&id("event", "default", "reply"), "the reply spoken", SHOW, |s| s.is_some_and(|s| s["attributes"]["event_type"] == "spoken")).await;
    assert_eq!(spoken["attributes"]["text"], reply_text.as_str(), "{spoken}");
    assert_eq!(spoken["attributes"]["interrupted"], false, "{spoken}");
    let finished = ha.wait_for(&id("event", "default", "timer"), "the timer finished", SHOW, |s| s.is_some_and(|s| s["attributes"]["event_type"] == "finished")).await;
    assert_eq!(finished["attributes"]["duration_s"], 4.0, "{finished}");
    ha.wait_state(&id("sensor", "default", "active_timers"), "0", SHOW).await;
    ha.wait_state(&id("sensor", "default", "next_timer"), "unknown", SHOW).await;
    ha.wait_state(&id("sensor", "default", "assistant_state"), "idle", SHOW).await;

    // The privacy case. Mute and switch the wake word off from Home Assistant; then the audio and wake
    // services crash and come back: both come back off, and Home Assistant never shows them on.
    let (mic, wake) = (id("switch", "default", "mic_mute"), id("switch", "default", "wake_word"));
    ha.call("switch.turn_on", &mic, json!({})).await.unwrap();
    ha.call("switch.turn_off", &wake, json!({})).await.unwrap();
    ha.wait_state(&mic, "on", SHOW).await;
    ha.wait_state(&wake, "off", SHOW).await;
    let mark = ha.mark();
    let (tap, tap_conn) = Bus::connect_tool(&bus, "test-tap", "default").unwrap();
    let Bus { client: tap_client, inbox: mut tap_inbox } = tap;
    tap_client.wait_connected(house::WAIT).await.unwrap();
    tap_client.subscribe(hearth_bus::topic::topic("default", "audio/frame")).await.unwrap();
    for name in ["audio", "wake"] {
        take(&mut services, name, "default").kill();
    }
    ha.wait_state(&mic, "unavailable", SHOW).await;
    ha.wait_state(&wake, "unavailable", SHOW).await;
    for name in ["audio", "wake"] {
        services.push(start(&bus, &living, name).await);
    }
    ha.wait_state(&mic, "on", SHOW).await;
    ha.wait_state(&wake, "off", SHOW).await;
    // A live microphone sends 50 frames a second; this one sends none.
    let leaked = tap_inbox.next_matching(Duration::from_secs(2), |e| e.is::<AudioFrame>()).await;
    assert!(leaked.is_none(), "a muted microphone sent audio after its restart");
    let mic_shown = ha.changes_since(mark, &mic);
    let wake_shown = ha.changes_since(mark, &wake);
    assert!(!mic_shown.contains(&Some("off".into())), "Home Assistant showed the microphone live: {mic_shown:?}");
    assert!(!wake_shown.contains(&Some("on".into())), "Home Assistant showed the wake word on: {wake_shown:?}");
    // The user turns them back on: they are on, and frames flow again.
    ha.call("switch.turn_off", &mic, json!({})).await.unwrap();
    ha.call("switch.turn_on", &wake, json!({})).await.unwrap();
    ha.wait_state(&mic, "off", SHOW).await;
    ha.wait_state(&wake, "on", SHOW).await;
    assert!(tap_inbox.next_matching(house::WAIT, |e| e.is::<AudioFrame>()).await.is_some(), "frames after unmuting");
    tap_conn.close().await;

    // Availability follows the services: a clean stop of the brain makes its entities unavailable,
    // but not the last transcript (typed requests need no speech recognition) nor the last reply.
    take(&mut services, "brain", "default").stop().await;
    ha.wait_state(&id("sensor", "default", "assistant_state"), "unavailable", SHOW).await;
    ha.wait_state(&id("text", "default", "ask"), "unavailable", SHOW).await;
    assert_eq!(ha.state(&id("sensor", "default", "last_transcript")).await.unwrap().unwrap()["state"], "set a timer for 4 seconds");
    ha.wait_state(&id("sensor", "default", "brain_status"), "offline", SHOW).await;
    // A clean stop leaves its own `offline`, not the last will's.
    let stopped = retained_status(&bus, "default", "brain").await;
    assert!(stopped.state == ServiceState::Offline && stopped.timestamp_ms > 0, "{stopped:?}");
    services.push(start(&bus, &living, "brain").await);
    ha.wait_state(&id("sensor", "default", "assistant_state"), "idle", SHOW).await;

    // Home Assistant's MQTT side restarts: every entity comes back with the state it had (from retained
    // topics), none stays "unknown" until the next turn.
    let before: Vec<(String, Value)> = {
        let mut v = Vec::new();
        for (domain, entity) in [("sensor", "last_reply"), ("sensor", "last_transcript"), ("sensor", "active_timers"), ("switch", "mic_mute"), ("number", "volume")] {
            let e = id(domain, "default", entity);
            v.push((e.clone(), ha.state(&e).await.unwrap().unwrap()["state"].clone()));
        }
        v
    };
    ha.reload_mqtt().await.unwrap();
    for (e, state) in &before {
        ha.wait_for(e, &format!("{state} again"), SHOW, |s| s.is_some_and(|s| &s["state"] == state)).await;
    }

    // The bridge restarts: what goes through it is unavailable meanwhile, and back after.
    take(&mut services, "ha", "default").stop().await;
    ha.wait_state(&mic, "unavailable", SHOW).await;
    services.push(start(&bus, &living, "ha").await);
    ha.wait_state(&mic, "off", SHOW).await;

    // The second room: its own turn, its own timers, its own controls.
    ha.call("text.set_value", &id("text", "kitchen", "ask"), json!({"value": "set a timer for 10 minutes"})).await.unwrap();
    ha.wait_state(&id("sensor", "kitchen", "active_timers"), "1", SHOW).await;
    ha.wait_state(&id("sensor", "kitchen", "last_transcript"), "set a timer for 10 minutes", SHOW).await;
    assert_eq!(ha.state(&id("sensor", "default", "active_timers")).await.unwrap().unwrap()["state"], "0");
    ha.call("switch.turn_on", &id("switch", "kitchen", "mic_mute"), json!({})).await.unwrap();
    ha.wait_state(&id("switch", "kitchen", "mic_mute"), "on", SHOW).await;
    assert_eq!(ha.state(&mic).await.unwrap().unwrap()["state"], "off", "rooms are separate");

    // A capability goes away: the kitchen's listener is removed (its retained status cleared), and
    // its entities leave Home Assistant.
    take(&mut services, "listen", "kitchen").stop().await;
    let (tool, tool_conn) = Bus::connect_tool(&bus, "test-admin", "kitchen").unwrap();
    tool.client.wait_connected(house::WAIT).await.unwrap();
    tool.client.publish_raw(status_topic("kitchen", "listen"), true, Vec::new()).await.unwrap();
    ha.wait_for(&id("button", "kitchen", "listen"), "it to be removed", SHOW, |s| s.is_none()).await;
    ha.wait_for(&id("sensor", "kitchen", "listen_status"), "it to be removed", SHOW, |s| s.is_none()).await;
    ha.wait_state(&id("binary_sensor", "kitchen", "problem"), "off", SHOW).await;
    tool_conn.close().await;

    for s in services {
        s.stop().await;
    }
    eprintln!("real Home Assistant suite ({}) passed in {:.0} s", ha.version, started.elapsed().as_secs_f64());
}

fn take(services: &mut Vec<Service>, name: &str, site: &str) -> Service {
    let i = services.iter().position(|s| s.name == name && s.site == site).unwrap_or_else(|| panic!("{name} at {site} is not running"));
    services.remove(i)
}

/// The retained status of a service, as a newcomer to the broker reads it.
async fn retained_status(bus: &BusConfig, site: &str, service: &str) -> ServiceStatus {
    let (b, conn) = Bus::connect_tool(bus, "test-status", site).unwrap();
    let Bus { client, mut inbox } = b;
    client.wait_connected(house::WAIT).await.unwrap();
    let topic = status_topic(site, service);
    client.subscribe(topic.clone()).await.unwrap();
    let e = inbox.next_matching(house::WAIT, |e| e.topic == topic).await.expect("a retained status");
    conn.close().await;
    e.decode::<ServiceStatus>().expect("a status")
}

fn shared_has(path: &str) -> bool {
    let p = house::shared_dir().join(path);
    if !p.is_file() {
        eprintln!("note: {} missing; the listener's entities are checked unavailable only", p.display());
    }
    p.is_file()
}

fn tracing_subscriber_init() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init()
}
