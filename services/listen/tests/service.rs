//! The listen service on a real broker with the energy stand-in VAD: the events of a capture in order,
//! follow-up timeouts, cancel by audio/stop, restart by a new wake, and unavailability.

use std::time::Duration;

use hearth_bus::audio::{AudioFrame, Chime, ChimeKind, StopPlayback};
use hearth_bus::listen::{EndReason, ListenReason, ListeningEnded, ListeningStarted, StartListening, Utterance};
use hearth_bus::service::{ServiceInfo, ServiceState, ServiceStatus};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusConfig, Connection, Envelope, Inbox, Message, Shutdown};
use hearth_listen::ListenConfig;
use hearth_wake::testkit::{self, silence, tone};

const WAIT: Duration = Duration::from_secs(15);

struct Rig {
    talker: BusClient,
    inbox: Inbox,
    shutdown: Shutdown,
    _connection: Connection,
}

async fn start(config: ListenConfig) -> Rig {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, connection) = Bus::connect(&bus_config, "test", "kitchen").unwrap();
    let Bus { client: talker, inbox } = test;
    talker.wait_connected(WAIT).await.unwrap();
    talker.subscribe("hearth/#").await.unwrap();
    let (bus, conn) = Bus::connect(&bus_config, "listen", "kitchen").unwrap();
    bus.client.wait_connected(WAIT).await.unwrap();
    let shutdown = Shutdown::new();
    let s = shutdown.clone();
    tokio::spawn(async move {
        let _ = hearth_listen::run(config, bus, s).await;
        conn.close().await;
    });
    let mut rig = Rig { talker, inbox, shutdown, _connection: connection };
    // Drive it only once it has subscribed: it then publishes its capabilities, or `unavailable`.
    tokio::time::timeout(WAIT, async {
        loop {
            let e = rig.inbox.recv().await.expect("inbox closed");
            let ready = e.decode::<ServiceInfo>().is_some_and(|i| !i.capabilities.is_empty())
                || e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Unavailable);
            if ready {
                break;
            }
        }
    })
    .await
    .expect("the service never became ready");
    rig
}

fn standin_config() -> ListenConfig {
    ListenConfig {
        vad_model: Some(testkit::standin_models_dir().join("silero-vad/silero_vad.onnx")),
        onnxruntime: testkit::onnxruntime(),
        ..ListenConfig::default()
    }
}

async fn next<T: Message>(inbox: &mut Inbox) -> (Envelope, T) {
    let e = inbox.next_matching(WAIT, |e| e.decode::<T>().is_some()).await;
    let e = e.unwrap_or_else(|| panic!("timed out waiting for {}", T::SUFFIX));
    let m = e.decode::<T>().expect("decoded above");
    (e, m)
}

/// The next capture event (started, chime, ended, utterance) as a short name, skipping everything else.
async fn next_event(inbox: &mut Inbox) -> (String, Envelope) {
    tokio::time::timeout(WAIT, async {
        loop {
            let e = inbox.recv().await.expect("inbox closed");
            if let Some(m) = e.decode::<ListeningStarted>() {
                return (format!("started:{}", m.session_id), e);
            } else if let Some(m) = e.decode::<Chime>() {
                return (format!("chime:{:?}", m.chime), e);
            } else if let Some(m) = e.decode::<ListeningEnded>() {
                return (format!("ended:{}:{:?}", m.session_id, m.reason), e);
            } else if let Some(m) = e.decode::<Utterance>() {
                return (format!("utterance:{}", m.session_id), e);
            }
        }
    })
    .await
    .expect("timed out waiting for a capture event")
}

async fn send_audio(client: &BusClient, samples: &[i16], t0_ms: i64) {
    for (i, frame) in samples.chunks(320).enumerate() {
        let msg = AudioFrame::from_samples(i as u64, t0_ms + i as i64 * 20, 16_000, 1, frame);
        client.publish("kitchen", &msg).await.unwrap();
        // Faster than real time, but paced like a microphone so QoS 0 frames are not dropped in a burst.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn wake(session: &str, at_ms: i64) -> WakeDetected {
    WakeDetected { session_id: session.into(), word: "hey_jarvis".into(), score: 0.9, timestamp_ms: at_ms }
}

#[tokio::test]
async fn wake_capture_in_order_with_the_words_said_before_the_event() {
    if testkit::onnxruntime().is_none() {
        return;
    }
    let mut rig = start(standin_config()).await;
    // The user speaks right after the wake word; the frames arrive before wake/detected does.
    let speech = tone(1000.0, 0.6, -12.0);
    send_audio(&rig.talker, &[silence(0.2), speech.clone()].concat(), 10_000).await;
    rig.talker.publish("kitchen", &wake("s1", 10_200)).await.unwrap();
    send_audio(&rig.talker, &silence(1.5), 11_000).await;
    let mut events = Vec::new();
    let mut utterance = None;
    for _ in 0..5 {
        let (name, e) = next_event(&mut rig.inbox).await;
        if let Some(u) = e.decode::<Utterance>() {
            utterance = Some(u);
        }
        if let Some(m) = e.decode::<ListeningEnded>() {
            assert!(m.speech_ms >= 500, "{m:?}");
        }
        events.push(name);
    }
    assert_eq!(events, ["started:s1", "chime:Listening", "chime:GotIt", "ended:s1:Silence", "utterance:s1"]);
    let u = utterance.unwrap();
    assert_eq!((u.sample_rate_hz, u.channels), (16_000, 1));
    // The whole 600 ms of "speech" is in it, although it was said before wake/detected arrived.
    let loud = u.pcm.chunks(2).filter(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 1000).count();
    assert!(loud > 16 * 500, "{loud} loud samples");
    rig.shutdown.trigger();
}

#[tokio::test]
async fn follow_up_times_out_stop_cancels_and_a_new_wake_restarts() {
    if testkit::onnxruntime().is_none() {
        return;
    }
    let mut rig = start(standin_config()).await;
    // A follow-up window with nothing said: ends with no_speech and no utterance.
    let follow_up = StartListening { session_id: Some("f1".into()), reason: ListenReason::FollowUp, no_speech_timeout_ms: Some(600) };
    rig.talker.publish("kitchen", &follow_up).await.unwrap();
    assert_eq!(next_event(&mut rig.inbox).await.0, "started:f1");
    send_audio(&rig.talker, &silence(1.0), 0).await;
    assert_eq!(next_event(&mut rig.inbox).await.0, "chime:Listening");
    let (_, ended) = next::<ListeningEnded>(&mut rig.inbox).await;
    assert_eq!((ended.session_id.as_str(), ended.reason), ("f1", EndReason::NoSpeech));
    assert!((600..700).contains(&ended.duration_ms), "{}", ended.duration_ms);

    // Push-to-talk without a session: the listener makes one. audio/stop cancels it.
    let ptt = StartListening { session_id: None, reason: ListenReason::PushToTalk, no_speech_timeout_ms: None };
    rig.talker.publish("kitchen", &ptt).await.unwrap();
    let (_, started) = next::<ListeningStarted>(&mut rig.inbox).await;
    assert_eq!(started.reason, ListenReason::PushToTalk);
    // The stop that comes with a barge-in wake does not cancel; a user stop does.
    rig.talker.publish("kitchen", &StopPlayback { reason: "wake".into() }).await.unwrap();
    rig.talker.publish("kitchen", &StopPlayback { reason: "user".into() }).await.unwrap();
    let (_, ended) = next::<ListeningEnded>(&mut rig.inbox).await;
    assert_eq!((ended.session_id, ended.reason), (started.session_id, EndReason::Cancelled));

    // A new wake during a capture cancels it and starts the next.
    rig.talker.publish("kitchen", &wake("w1", 0)).await.unwrap();
    assert_eq!(next::<ListeningStarted>(&mut rig.inbox).await.1.session_id, "w1");
    rig.talker.publish("kitchen", &wake("w2", 0)).await.unwrap();
    let (_, ended) = next::<ListeningEnded>(&mut rig.inbox).await;
    assert_eq!((ended.session_id.as_str(), ended.reason), ("w1", EndReason::Cancelled));
    assert_eq!(next::<ListeningStarted>(&mut rig.inbox).await.1.session_id, "w2");
    send_audio(&rig.talker, &[tone(1000.0, 0.5, -12.0), silence(1.2)].concat(), 50_000).await;
    let (_, ended) = next::<ListeningEnded>(&mut rig.inbox).await;
    assert_eq!((ended.session_id.as_str(), ended.reason), ("w2", EndReason::Silence));
    assert_eq!(next::<Utterance>(&mut rig.inbox).await.1.session_id, "w2");
    rig.shutdown.trigger();
}

#[tokio::test]
async fn missing_model_is_unavailable_and_requests_get_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let config = ListenConfig { vad_model: Some(dir.path().join("silero_vad.onnx")), ..ListenConfig::default() };
    let broker_rig = start(config).await;
    let mut rig = broker_rig;
    // Another machine's room: not this listener's to answer (it serves only its own site).
    rig.talker.publish("garage", &wake("g1", 0)).await.unwrap();
    rig.talker.publish("kitchen", &wake("x1", 0)).await.unwrap();
    let (_, chime) = next::<Chime>(&mut rig.inbox).await;
    assert_eq!(chime.chime, ChimeKind::Error);
    assert_eq!(chime.session_id.as_deref(), Some("x1"), "the garage's wake got no answer");
    let (_, ended) = next::<ListeningEnded>(&mut rig.inbox).await;
    assert_eq!((ended.session_id.as_str(), ended.reason), ("x1", EndReason::Cancelled));
    rig.shutdown.trigger();
}

#[tokio::test]
async fn unavailable_status_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = ListenConfig { vad_model: Some(dir.path().join("silero_vad.onnx")), ..ListenConfig::default() };
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, _connection) = Bus::connect(&bus_config, "test", "kitchen").unwrap();
    let Bus { client, mut inbox } = test;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe("hearth/+/service/listen/status").await.unwrap();
    let (bus, _conn) = Bus::connect(&bus_config, "listen", "kitchen").unwrap();
    let shutdown = Shutdown::new();
    tokio::spawn(hearth_listen::run(config, bus, shutdown.clone()));
    loop {
        let (_, status) = next::<ServiceStatus>(&mut inbox).await;
        if status.state == ServiceState::Unavailable {
            assert!(status.detail.unwrap().contains("hearth models pull silero-vad"));
            break;
        }
    }
    shutdown.trigger();
}
