//! The bridge on a real broker: discovery on start, for a newly seen site, and again on Home
//! Assistant's birth message; commands from HA's topics become the right bus messages; wake
//! detections, replies spoken, timers finishing and listening become HA events; transcripts, replies,
//! timers and health become retained states; the bridge's own status is published once per connection
//! and no last will follows its clean stop. The test plays Home Assistant: it reads the discovery
//! payloads and publishes exactly what HA would on each command topic.

use std::time::Duration;

use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::audio::{Played, SetMicMuted, SetVolume};
use hearth_bus::brain::{Reply, ReplySource};
use hearth_bus::ha::{HaHealth, HaLastReply, HaLastTranscript, HaListeningEvent, HaMessageEvent, HaReplyEvent, HaTimerEvent, HaTimers, HaWakeEvent};
use hearth_bus::message::{SendMessage, StartCall};
use hearth_bus::listen::{EndReason, ListenReason, ListeningEnded, StartListening};
use hearth_bus::timer::{Timer, TimerDone, TimerState};
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::tts::Say;
use hearth_bus::vision::SetCameraEnabled;
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

    // Everything the bridge says about itself, from before it connects.
    let (watch, watch_conn) = Bus::connect_tool(&bus_config, "status-watch", "default").unwrap();
    let Bus { client: watch_client, inbox: mut watch_inbox } = watch;
    watch_client.wait_connected(WAIT).await.unwrap();
    watch_client.subscribe("hearth/default/service/ha/status").await.unwrap();

    let config = HaConfig { discovery_delay_ms: 50, birth_jitter_ms: 0, ..HaConfig::default() };
    let (bridge_bus, bridge_conn) = Bus::connect(&bus_config, "ha", "default").unwrap();
    let shutdown = Shutdown::new();
    let bridge = tokio::spawn(hearth_ha::run(config, bridge_bus, shutdown.clone()));

    // On start: the configured site, with the brain's status as the state sensor's availability.
    let d = next_matching(&mut ha_inbox, "default with the brain's entities", |e| {
        e.topic == "homeassistant/device/hearth_default/config"
            && serde_json::from_slice::<Value>(&e.payload).is_ok_and(|d| !d["cmps"]["assistant_state"].is_null())
    })
    .await;
    let d: Value = serde_json::from_slice(&d.payload).unwrap();
    assert_eq!(d["dev"]["ids"][0], "hearth_default");
    assert_eq!(d["dev"]["name"], "Hearth assistant");
    assert_eq!(d["o"]["name"], "Hearth");
    assert_eq!(availability_topics(&d, "assistant_state"), ["hearth/default/service/brain/status"]);

    // An audio service appears in the kitchen: a new device for the kitchen, whose brain entities
    // follow the brain on the default site and whose microphone is the kitchen's own.
    let (audio, audio_conn) = Bus::connect(&bus_config, "audio", "kitchen").unwrap();
    audio.client.wait_connected(WAIT).await.unwrap();
    let kitchen = discovery_of(&mut ha_inbox, "kitchen").await;
    assert_eq!(kitchen["dev"]["name"], "Kitchen assistant");
    assert_eq!(availability_topics(&kitchen, "assistant_state"), ["hearth/default/service/brain/status"]);
    assert_eq!(
        availability_topics(&kitchen, "mic_mute"),
        ["hearth/kitchen/service/audio/status", "hearth/default/service/ha/status"]
    );
    // No wake service and no listener in the kitchen: no controls for them.
    assert!(component(&kitchen, "wake_word").is_null() && component(&kitchen, "listen").is_null());

    // The kitchen gets its wake word, listener and camera, and a TTS serves the house: their controls appear.
    let mut others = Vec::new();
    for (service, site) in [("wake", "kitchen"), ("listen", "kitchen"), ("camera", "kitchen"), ("tts", "default")] {
        let (bus, conn) = Bus::connect(&bus_config, service, site).unwrap();
        bus.client.wait_connected(WAIT).await.unwrap();
        others.push((bus, conn));
    }
    let kitchen = next_matching(&mut ha_inbox, "kitchen with every control", |e| {
        e.topic == "homeassistant/device/hearth_kitchen/config"
            && serde_json::from_slice::<Value>(&e.payload).is_ok_and(|d| ["wake_word", "listen", "camera", "announce"].iter().all(|c| !d["cmps"][c].is_null()))
    })
    .await;
    let kitchen: Value = serde_json::from_slice(&kitchen.payload).unwrap();

    // HA restarts: its birth message brings discovery for every site again.
    ha_client.publish_raw("homeassistant/status".into(), false, b"online".to_vec()).await.unwrap();
    let again_default = discovery_of(&mut ha_inbox, "default").await;
    assert!(!component(&again_default, "assistant_state").is_null());
    assert!(component(&again_default, "mic_mute").is_null(), "no audio service at the default site");
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

    ha_client.publish_raw(cmd("camera"), false, press("camera", "payload_off")).await.unwrap();
    let e = next_matching(&mut ha_inbox, "camera/enabled/set", |e| e.is::<SetCameraEnabled>()).await;
    assert_eq!(e.site(), Some("kitchen"));
    assert_eq!(e.decode::<SetCameraEnabled>().unwrap(), SetCameraEnabled { enabled: false });

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

    // What the bus has as events becomes retained states and HA events, in seconds and timestamps.
    let typed = Transcript { session_id: "s1".into(), text: "set a timer".into(), source: TranscriptSource::Typed, audio_ms: 0, processing_ms: 0 };
    audio.client.publish("kitchen", &typed).await.unwrap();
    let e = next_matching(&mut ha_inbox, "ha/last_transcript", |e| e.is::<HaLastTranscript>()).await;
    let last = e.decode::<HaLastTranscript>().unwrap();
    assert_eq!(component(&kitchen, "last_transcript")["state_topic"], e.topic.as_str());
    assert_eq!((last.text.as_str(), last.source.as_str()), ("set a timer", "typed"));
    let reply = Reply { session_id: "s1".into(), request: "set a timer".into(), text: "Timer set.".into(), source: ReplySource::Intent, tool: None, elapsed_ms: 250 };
    audio.client.publish("kitchen", &Played { utterance_id: "u1".into(), session_id: Some("s1".into()), duration_ms: 800, interrupted: false }).await.unwrap();
    audio.client.publish("kitchen", &reply).await.unwrap();
    let last = next_matching(&mut ha_inbox, "ha/last_reply", |e| e.is::<HaLastReply>()).await.decode::<HaLastReply>().unwrap();
    assert_eq!((last.text.as_str(), last.elapsed_s), ("Timer set.", 0.25));
    let spoken = next_matching(&mut ha_inbox, "ha/reply", |e| e.is::<HaReplyEvent>()).await.decode::<HaReplyEvent>().unwrap();
    assert_eq!((spoken.event_type.as_str(), spoken.text.as_str()), ("spoken", "Timer set."));
    let timer = Timer { id: "t1".into(), name: Some("pasta".into()), site: "kitchen".into(), duration_ms: 600_000, due_at_ms: 1_700_000_600_000, created_at_ms: 1_700_000_000_000 };
    audio.client.publish("kitchen", &TimerState { timers: vec![timer.clone()] }).await.unwrap();
    let timers = next_matching(&mut ha_inbox, "ha/timers", |e| e.is::<HaTimers>() && e.site() == Some("kitchen")).await.decode::<HaTimers>().unwrap();
    assert_eq!((timers.count, timers.next_due.as_deref(), timers.timers[0].duration_s), (1, Some("2023-11-14T22:23:20Z"), 600.0));
    audio.client.publish("kitchen", &TimerDone { timer, sentence: "Your pasta timer is done.".into(), late_ms: 1500 }).await.unwrap();
    let done = next_matching(&mut ha_inbox, "ha/timer", |e| e.is::<HaTimerEvent>()).await.decode::<HaTimerEvent>().unwrap();
    assert_eq!((done.event_type.as_str(), done.late_s, done.name.as_deref()), ("finished", 1.5, Some("pasta")));
    audio.client.publish("kitchen", &ListeningEnded { session_id: "s2".into(), reason: EndReason::NoSpeech, speech_ms: 0, duration_ms: 5000, timestamp_ms: 1 }).await.unwrap();
    let ended = next_matching(&mut ha_inbox, "ha/listening", |e| e.is::<HaListeningEvent>()).await.decode::<HaListeningEvent>().unwrap();
    assert_eq!((ended.event_type.as_str(), ended.reason.as_str()), ("ended", "no_speech"));
    // A message the brain hands off becomes the message request event, with where its result goes.
    let send = SendMessage { request_id: "r1".into(), session_id: Some("s3".into()), contact: "Alex".into(), channel: "signal".into(), address: "+15550001".into(), text: "I'm late".into() };
    audio.client.publish("kitchen", &send).await.unwrap();
    let state_topic = component(&kitchen, "message_request")["state_topic"].as_str().unwrap().to_string();
    let request = next_matching(&mut ha_inbox, "ha/message", |e| e.topic == state_topic).await.decode::<HaMessageEvent>().unwrap();
    assert_eq!((request.event_type.as_str(), request.request_id.as_str(), request.text.as_str()), ("send", "r1", "I'm late"));
    assert_eq!(request.result_topic, "hearth/kitchen/message/result");
    let call = StartCall { request_id: "r2".into(), session_id: None, contact: "Alex".into(), channel: "phone".into(), address: "+15550001".into() };
    audio.client.publish("kitchen", &call).await.unwrap();
    let request = next_matching(&mut ha_inbox, "ha/message", |e| e.decode::<HaMessageEvent>().is_some_and(|m| m.request_id == "r2")).await.decode::<HaMessageEvent>().unwrap();
    assert_eq!((request.event_type.as_str(), request.channel.as_str(), request.result_topic.as_str()), ("call", "phone", "hearth/kitchen/call/result"));
    let types = component(&kitchen, "message_request")["event_types"].as_array().unwrap();
    assert!(types.iter().any(|t| t == "send") && types.iter().any(|t| t == "call"));
    // A service the kitchen uses goes unavailable: the kitchen has a problem, with the fix.
    let detail = "Silero VAD model missing — run `hearth models pull silero-vad`";
    others[1].0.client.set_status(ServiceState::Unavailable, Some(detail.into())).await.unwrap();
    let health = next_matching(&mut ha_inbox, "ha/health", |e| e.decode::<HaHealth>().is_some_and(|h| h.problem)).await;
    assert_eq!(health.site(), Some("kitchen"));
    assert_eq!(health.decode::<HaHealth>().unwrap().problems, [format!("listen: unavailable: {detail}")]);

    // Shutdown: the bridge returns and says offline (its entities go unavailable in HA).
    shutdown.trigger();
    tokio::time::timeout(WAIT, bridge).await.unwrap().unwrap().unwrap();
    bridge_conn.close().await;
    let e = next_matching(&mut ha_inbox, "bridge offline", |e| {
        e.topic == "hearth/default/service/ha/status" && String::from_utf8_lossy(&e.payload).contains("offline")
    })
    .await;
    assert!(e.retain || !e.payload.is_empty());

    // One status publication for the connection, then the clean stop's own `offline`, and no last
    // will after it (the will's timestamp is 0).
    let mut statuses = Vec::new();
    while let Some(e) = watch_inbox.next_matching(Duration::from_millis(1000), |_| true).await {
        statuses.push(e.decode::<ServiceStatus>().expect("a status"));
    }
    let states: Vec<_> = statuses.iter().map(|s| (s.state, s.timestamp_ms > 0)).collect();
    assert_eq!(states, [(ServiceState::Online, true), (ServiceState::Offline, true)], "{statuses:?}");
    watch_conn.close().await;

    audio_conn.close().await;
    for (_, conn) in others {
        conn.close().await;
    }
    brain_conn.close().await;
    ha_conn.close().await;
}
