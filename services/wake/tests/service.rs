//! The wake service on a real broker with the stand-in models: detection with a new session id,
//! the retained state, the on/off switch, muting while the assistant speaks, barge-in, and the
//! unavailable status when models are missing.

use std::time::Duration;

use hearth_bus::audio::{AudioFrame, StopPlayback};
use hearth_bus::brain::{AssistantState, StateChanged};
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::wake::{SetWake, WakeDetected, WakeState};
use hearth_bus::{Bus, BusClient, BusConfig, Envelope, Inbox, Shutdown};
use hearth_wake::testkit::{self, silence, tone};
use hearth_wake::{WakeConfig, WordConfig};

const WAIT: Duration = Duration::from_secs(15);

struct Rig {
    talker: BusClient,
    inbox: Inbox,
    shutdown: Shutdown,
    service: tokio::task::JoinHandle<Result<(), hearth_wake::WakeError>>,
    _connection: hearth_bus::Connection,
}

async fn start(config: WakeConfig) -> Rig {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, connection) = Bus::connect(&bus_config, "test", "kitchen").unwrap();
    let Bus { client: talker, inbox } = test;
    talker.wait_connected(WAIT).await.unwrap();
    talker.subscribe("hearth/#").await.unwrap();
    let (bus, conn) = Bus::connect(&bus_config, "wake", "kitchen").unwrap();
    bus.client.wait_connected(WAIT).await.unwrap();
    let shutdown = Shutdown::new();
    let s = shutdown.clone();
    let service = tokio::spawn(async move {
        let r = hearth_wake::run(config, bus, s).await;
        conn.close().await;
        r
    });
    Rig { talker, inbox, shutdown, service, _connection: connection }
}

fn standin_config() -> WakeConfig {
    WakeConfig {
        model_dir: Some(testkit::standin_models_dir().join("openwakeword")),
        words: vec![WordConfig::new("tone_1k")],
        onnxruntime: testkit::onnxruntime(),
        sites: vec!["kitchen".into(), "bedroom".into()],
        ..WakeConfig::default()
    }
}

async fn next<T: hearth_bus::Message>(inbox: &mut Inbox) -> (Envelope, T) {
    let e = inbox.next_matching(WAIT, |e| e.decode::<T>().is_some()).await;
    let e = e.unwrap_or_else(|| panic!("timed out waiting for {}", T::SUFFIX));
    let m = e.decode::<T>().expect("decoded above");
    (e, m)
}

/// Collects messages of type T for `wait`.
async fn none_of<T: hearth_bus::Message + std::fmt::Debug>(inbox: &mut Inbox, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, inbox.recv()).await {
        if let Some(m) = e.decode::<T>() {
            panic!("unexpected {}: {m:?}", T::SUFFIX);
        }
    }
}

async fn send_audio(client: &BusClient, site: &str, samples: &[i16], seq0: u64) {
    for (i, frame) in samples.chunks(320).enumerate() {
        let msg = AudioFrame::from_samples(seq0 + i as u64, 1_000_000 + (seq0 + i as u64) as i64 * 20, 16_000, 1, frame);
        client.publish(site, &msg).await.unwrap();
        // Faster than real time, but paced like a microphone so QoS 0 frames are not dropped in a burst.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn word_audio() -> Vec<i16> {
    [silence(0.6), tone(1000.0, 0.6, -12.0), silence(1.0)].concat()
}

#[tokio::test]
async fn detects_switches_and_mutes() {
    if testkit::onnxruntime().is_none() {
        return;
    }
    let mut rig = start(standin_config()).await;
    let (_, status) = next::<ServiceStatus>(&mut rig.inbox).await;
    assert_eq!(status.state, ServiceState::Online);
    let (_, state) = next::<WakeState>(&mut rig.inbox).await;
    assert_eq!(state, WakeState { enabled: true, words: vec!["tone_1k".into()] });

    send_audio(&rig.talker, "kitchen", &word_audio(), 0).await;
    let (e, first) = next::<WakeDetected>(&mut rig.inbox).await;
    assert_eq!(e.site(), Some("kitchen"));
    assert_eq!(first.word, "tone_1k");
    assert!(first.score >= 0.5);
    assert_eq!(first.session_id.len(), 16);
    // The word ended within the tone (0.6 s to 1.2 s after the first frame) plus a step.
    let t = first.timestamp_ms - 1_000_000;
    assert!((600..1400).contains(&t), "timestamp {t} ms into the stream");

    // Another site it serves gets its own detector and its own session.
    send_audio(&rig.talker, "bedroom", &word_audio(), 0).await;
    let (e, second) = next::<WakeDetected>(&mut rig.inbox).await;
    assert_eq!(e.site(), Some("bedroom"));
    assert_ne!(second.session_id, first.session_id);

    // Switched off: retained state says so and the word is ignored.
    rig.talker.publish("kitchen", &SetWake { enabled: false }).await.unwrap();
    let (_, state) = next::<WakeState>(&mut rig.inbox).await;
    assert!(!state.enabled);
    send_audio(&rig.talker, "kitchen", &word_audio(), 1000).await;
    none_of::<WakeDetected>(&mut rig.inbox, Duration::from_millis(1500)).await;
    rig.talker.publish("kitchen", &SetWake { enabled: true }).await.unwrap();
    assert!(next::<WakeState>(&mut rig.inbox).await.1.enabled);

    // While the assistant speaks (no barge-in), its own sound cannot wake it.
    let speaking = StateChanged { state: AssistantState::Speaking, session_id: None, timestamp_ms: 0 };
    rig.talker.publish("kitchen", &speaking).await.unwrap();
    send_audio(&rig.talker, "kitchen", &word_audio(), 2000).await;
    none_of::<WakeDetected>(&mut rig.inbox, Duration::from_millis(1500)).await;
    let idle = StateChanged { state: AssistantState::Idle, session_id: None, timestamp_ms: 0 };
    rig.talker.publish("kitchen", &idle).await.unwrap();
    send_audio(&rig.talker, "kitchen", &word_audio(), 3000).await;
    next::<WakeDetected>(&mut rig.inbox).await;

    rig.shutdown.trigger();
    tokio::time::timeout(WAIT, rig.service).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn barge_in_stops_playback_first() {
    if testkit::onnxruntime().is_none() {
        return;
    }
    let mut rig = start(WakeConfig { barge_in: true, ..standin_config() }).await;
    next::<WakeState>(&mut rig.inbox).await;
    let speaking = StateChanged { state: AssistantState::Speaking, session_id: None, timestamp_ms: 0 };
    rig.talker.publish("kitchen", &speaking).await.unwrap();
    send_audio(&rig.talker, "kitchen", &word_audio(), 0).await;
    let (_, stop) = next::<StopPlayback>(&mut rig.inbox).await;
    assert_eq!(stop.reason, "wake");
    next::<WakeDetected>(&mut rig.inbox).await;
    rig.shutdown.trigger();
}

#[tokio::test]
async fn missing_models_make_it_unavailable_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = WakeConfig { model_dir: Some(dir.path().into()), ..WakeConfig::default() };
    let mut rig = start(config).await;
    let (_, status) = tokio::time::timeout(WAIT, async {
        loop {
            let (e, s) = next::<ServiceStatus>(&mut rig.inbox).await;
            if s.state == ServiceState::Unavailable {
                return (e, s);
            }
        }
    })
    .await
    .unwrap();
    let detail = status.detail.unwrap();
    assert!(detail.contains("hearth models pull openwakeword") && detail.contains("hey_jarvis"), "{detail}");
    let (_, initial) = next::<WakeState>(&mut rig.inbox).await;
    assert!(!initial.enabled);
    // A request is answered with the state that says it cannot detect.
    rig.talker.publish("kitchen", &SetWake { enabled: true }).await.unwrap();
    let (_, state) = next::<WakeState>(&mut rig.inbox).await;
    assert!(!state.enabled);
    rig.shutdown.trigger();
    tokio::time::timeout(WAIT, rig.service).await.unwrap().unwrap().unwrap();
}
