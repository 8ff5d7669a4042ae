//! The bridge on a real broker: discovery on start, for a newly seen site, and again on Home
//! Assistant's birth message; commands from HA's topics become the right bus messages; wake
//! detections become HA events. The test plays Home Assistant: it reads the discovery payloads and
//! publishes exactly what HA would on each command topic.

use std::time::Duration;

use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::audio::{SetMicMuted, SetVolume};
use hearth_bus::ha::HaWakeEvent;
use hearth_bus::listen::{ListenReason, StartListening};
use hearth_bus::tts::Say;
use hearth_bus::wake::{SetWake, WakeDetected};
use hearth_bus::{Bus, BusConfig, Envelope, Inbox, Shutdown};
use hearth_ha::HaConfig;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

async fn next_matching(inbox: &mut Inbox, what: &str, pred: impl Fn(&Envelope) -> bool) -> Envelope {
    inbox.next_matching(WAIT, pred).await.unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

async fn discovery_of(inbox: &mut Inbox, site: &str) -> Value {
    let topic = format!("homeassistant/device/hearth_{site}/config");
    let e = next_matching(inbox, &topic, |e| e.topic == topic).await;
    serde_json::from_slice(&e.payload).expect("discovery is JSON")
}

fn component<'a>(discovery: &'a Value, id: &str) -> &'a Value {
    &discovery["cmps"][id]
}

fn availability_topics(discovery: &Value, id: &str) -> Vec<String> {
    component(discovery, id)["availability"].as_array().unwrap().iter().map(|a| a["topic"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn discovery_birth_commands_and_events() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };

    // Home Assistant's side: discovery and every bus topic.
    let (ha, ha_conn) = Bus::connect(&bus_config, "fake-home-assistant", "default").unwrap();
    let Bus { client: ha_client, inbox: mut ha_inbox } = ha;
    ha_client.wait_connected(WAIT).await.unwrap();
    ha_client.subscribe("homeassistant/device/+/config").await.unwrap();
    ha_client.subscribe("hearth/#").await.unwrap();

    // A brain on the default site, before the bridge starts (its retained status is there).
    let (brain, brain_conn) = Bus::connect(&bus_config, "brain", "default").unwrap();
    brain.client.wait_connected(WAIT).await.unwrap();

    let config = HaConfig { discovery_delay_ms: 50, birth_jitter_ms: 0, ..HaConfig::default() };
    let (bridge_bus, bridge_conn) = Bus::connect(&bus_config, "ha", "default").unwrap();
    let shutdown = Shutdown::new();
    let bridge = tokio::spawn(hearth_ha::run(config, bridge_bus, shutdown.clone()));

    // On start: the configured site, with the brain's status as the state sensor's availability.
    let d = discovery_of(&mut ha_inbox, "default").await;
    assert_eq!(d["dev"]["ids"][0], "hearth_default");
    assert_eq!(d["o"]["name"], "Hearth");
    assert_eq!(availability_topics(&d, "assistant_state"), ["hearth/default/service/brain/status"]);

    // An audio service appears in the kitchen: a new device for the kitchen, whose brain entities
    // follow the brain on the default site and whose microphone is the kitchen's own.
    let (audio, audio_conn) = Bus::connect(&bus_config, "audio", "kitchen").unwrap();
    audio.client.wait_connected(WAIT).await.unwrap();
    let kitchen = discovery_of(&mut ha_inbox, "kitchen").await;
    assert_eq!(availability_topics(&kitchen, "assistant_state"), ["hearth/default/service/brain/status"]);
    assert_eq!(
        availability_topics(&kitchen, "mic_mute"),
        ["hearth/kitchen/service/audio/status", "hearth/default/service/ha/status"]
    );

    // HA restarts: its birth message brings discovery for every site again.
    ha_client.publish_raw("homeassistant/status".into(), false, b"online".to_vec()).await.unwrap();
    let again_default = discovery_of(&mut ha_inbox, "default").await;
    assert_eq!(again_default["cmps"].as_object().unwrap().len(), 12);
    let again_kitchen = discovery_of(&mut ha_inbox, "kitchen").await;
    assert_eq!(again_kitchen, kitchen);
    // An `offline` on the birth topic (HA's last will) announces nothing.
    ha_client.publish_raw("homeassistant/status".into(), false, b"offline".to_vec()).await.unwrap();

    // Commands, published as HA publishes them, on the topics from discovery.
    let cmd = |id: &str| component(&kitchen, id)["command_topic"].as_str().unwrap().to_string();
    let press = |id: &str, key: &str| component(&kitchen, id)[key].as_str().unwrap().as_bytes().to_vec();

    ha_client.publish_raw(cmd("mic_mute"), false, press("mic_mute", "payload_on")).await.unwrap();
    let e = next_matching(&mut ha_inbox, "audio/mic/set", |e| e.is::<SetMicMuted>()).await;
    assert_eq!(e.site(), Some("kitchen"));
    assert_eq!(e.decode::<SetMicMuted>().unwrap(), SetMicMuted { muted: true });

    ha_client.publish_raw(cmd("wake_word"), false, press("wake_word", "payload_off")).await.unwrap();
    let e = next_matching(&mut ha_inbox, "wake/set", |e| e.is::<SetWake>()).await;
    assert_eq!(e.decode::<SetWake>().unwrap(), SetWake { enabled: false });

    // A bad volume is dropped; the good one after it arrives.
    ha_client.publish_raw(cmd("volume"), false, b"eleven".to_vec()).await.unwrap();
    ha_client.publish_raw(cmd("volume"), false, b"35.0".to_vec()).await.unwrap();
    let e = next_matching(&mut ha_inbox, "audio/volume/set", |e| e.is::<SetVolume>()).await;
    assert_eq!(e.decode::<SetVolume>().unwrap(), SetVolume { volume: 35 });

    ha_client.publish_raw(cmd("announce"), false, b"The laundry is done. Go get it!".to_vec()).await.unwrap();
    let first = next_matching(&mut ha_inbox, "tts/say", |e| e.is::<Say>()).await.decode::<Say>().unwrap();
    let second = next_matching(&mut ha_inbox, "tts/say", |e| e.is::<Say>()).await.decode::<Say>().unwrap();
    assert_eq!((first.text.as_str(), first.seq, first.last), ("The laundry is done.", 0, false));
    assert_eq!((second.text.as_str(), second.seq, second.last), ("Go get it!", 1, true));
    assert_eq!(first.utterance_id, second.utterance_id);
    assert!(first.session_id.is_none());

    ha_client.publish_raw(cmd("ask"), false, b"what time is it".to_vec()).await.unwrap();
    let e = next_matching(&mut ha_inbox, "asr/transcript", |e| e.is::<Transcript>()).await;
    let t = e.decode::<Transcript>().unwrap();
    assert_eq!((t.text.as_str(), t.source, e.site()), ("what time is it", TranscriptSource::Typed, Some("kitchen")));
    assert_eq!(t.session_id.len(), 16);

    ha_client.publish_raw(cmd("listen"), false, press("listen", "payload_press")).await.unwrap();
    let e = next_matching(&mut ha_inbox, "listen/start", |e| e.is::<StartListening>()).await;
    let s = e.decode::<StartListening>().unwrap();
    assert_eq!((s.reason, s.session_id), (ListenReason::PushToTalk, None));

    // A wake detection becomes an event on the event entity's state topic, with an announced type.
    let wake = WakeDetected { session_id: "abc".into(), word: "hey_jarvis".into(), score: 0.97, timestamp_ms: 5 };
    audio.client.publish("kitchen", &wake).await.unwrap();
    let state_topic = component(&kitchen, "wake")["state_topic"].as_str().unwrap().to_string();
    let e = next_matching(&mut ha_inbox, "ha/wake", |e| e.topic == state_topic).await;
    let event = e.decode::<HaWakeEvent>().unwrap();
    assert_eq!((event.word.as_str(), event.session_id.as_str()), ("hey_jarvis", "abc"));
    let types = component(&kitchen, "wake")["event_types"].as_array().unwrap();
    assert!(types.iter().any(|t| t == event.event_type.as_str()));

    // Shutdown: the bridge returns and says offline (its entities go unavailable in HA).
    shutdown.trigger();
    tokio::time::timeout(WAIT, bridge).await.unwrap().unwrap().unwrap();
    bridge_conn.close().await;
    let e = next_matching(&mut ha_inbox, "bridge offline", |e| {
        e.topic == "hearth/default/service/ha/status" && String::from_utf8_lossy(&e.payload).contains("offline")
    })
    .await;
    assert!(e.retain || !e.payload.is_empty());

    audio_conn.close().await;
    brain_conn.close().await;
    ha_conn.close().await;
}
