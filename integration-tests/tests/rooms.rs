//! Several rooms, one wake word: on a real broker, the arbiter and, per room, the real wake word
//! ("hey jarvis") and the real listener (Silero VAD), each serving only its own room as on separate
//! machines. The same speech reaches every room's microphone at a different level: exactly one room
//! captures the request (the loudest: listening chime, capture, utterance); the others get `wake/lost`
//! and stay silent.

use std::collections::BTreeMap;
use std::time::Duration;

use hearth_bus::audio::{AudioFrame, Chime};
use hearth_bus::listen::{ListeningStarted, Utterance};
use hearth_bus::wake::{LostReason, WakeDetected, WakeLost, ARBITER_SERVICE};
use hearth_bus::Bus;
use hearth_integration_tests::speech::{silence, speak};
use hearth_integration_tests::*;

/// Everything a room got, by kind, within the quiet time after the speech.
#[derive(Debug, Default)]
struct Room {
    detected: usize,
    lost: Vec<(String, LostReason)>,
    started: usize,
    chimes: usize,
    utterances: usize,
}

async fn rooms_hear(gains: &[(&str, f32)]) {
    let Some(models) = shared_file("models/openwakeword/melspectrogram.onnx") else { return };
    let models = models.parent().and_then(|d| d.parent()).expect("models folder").to_path_buf();
    let onnxruntime = hearth_wake::testkit::onnxruntime();
    let broker = start_broker();
    let mut services = vec![
        start_service(&broker.bus, ARBITER_SERVICE, "master", |b, s| {
            hearth_wake::arbiter_service::run(hearth_wake::ArbiterConfig::default(), b, s)
        })
        .await,
    ];
    for (room, _) in gains {
        let wake = hearth_wake::WakeConfig {
            model_dir: Some(models.join("openwakeword")),
            words: vec![hearth_wake::WordConfig::new("hey_jarvis")],
            onnxruntime: onnxruntime.clone(),
            ..Default::default()
        };
        services.push(start_service(&broker.bus, "wake", room, move |b, s| hearth_wake::run(wake, b, s)).await);
        let listen = hearth_listen::ListenConfig {
            vad_model: Some(models.join("silero-vad/silero_vad.onnx")),
            onnxruntime: onnxruntime.clone(),
            ..Default::default()
        };
        services.push(start_service(&broker.bus, "listen", room, move |b, s| hearth_listen::run(listen, b, s)).await);
    }
    // One client plays every microphone and hears every answer; the broker handles its packets in order,
    // so the subscriptions are in place before the first frame.
    let (bus, _connection) = Bus::connect_tool(&broker.bus, "rooms-test", "master").unwrap();
    let Bus { client, mut inbox } = bus;
    client.wait_connected(WAIT).await.unwrap();
    for filter in ["hearth/+/wake/#", "hearth/+/listen/#", "hearth/+/audio/chime"] {
        client.subscribe(filter).await.unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let mut speech = silence(0.5);
    speech.extend(speak("hey jarvis", "en-us", dir.path()));
    speech.extend(silence(0.4));
    speech.extend(speak("what time is it", "en-us", dir.path()));
    speech.extend(silence(2.0));
    for (i, frame) in speech.chunks(320).enumerate() {
        for (room, gain) in gains {
            let scaled: Vec<i16> = frame.iter().map(|&s| (s as f32 * gain).round() as i16).collect();
            let msg = AudioFrame::from_samples(i as u64, 1_000_000 + i as i64 * 20, 16_000, 1, &scaled);
            client.publish(room, &msg).await.unwrap();
        }
        // Faster than real time, paced so QoS 0 frames are not dropped in a burst.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    let mut rooms: BTreeMap<String, Room> = BTreeMap::new();
    let quiet = Duration::from_secs(6);
    while let Ok(Some(e)) = tokio::time::timeout(quiet, inbox.recv()).await {
        let room = rooms.entry(e.site().unwrap_or_default().to_string()).or_default();
        if e.decode::<WakeDetected>().is_some() {
            room.detected += 1;
        } else if let Some(lost) = e.decode::<WakeLost>() {
            room.lost.push((lost.winner_site, lost.reason));
        } else if e.decode::<ListeningStarted>().is_some() {
            room.started += 1;
        } else if e.decode::<Chime>().is_some() {
            room.chimes += 1;
        } else if e.decode::<Utterance>().is_some() {
            room.utterances += 1;
        }
        if rooms.values().any(|r| r.utterances > 0) && rooms.values().map(|r| r.lost.len()).sum::<usize>() + 1 >= gains.len() {
            break;
        }
    }
    let loudest = gains.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    let winner = &rooms[loudest];
    assert_eq!((winner.detected, winner.started, winner.utterances), (1, 1, 1), "{rooms:#?}");
    assert!(winner.chimes >= 1, "the answering room chimed: {rooms:#?}");
    for (name, room) in &rooms {
        if name == loudest {
            continue;
        }
        assert_eq!((room.detected, room.started, room.chimes, room.utterances), (0, 0, 0, 0), "{name}: {rooms:#?}");
        for (winner_site, reason) in &room.lost {
            assert_eq!((winner_site.as_str(), *reason), (loudest, LostReason::Weaker), "{rooms:#?}");
        }
    }
    let answering = rooms.values().filter(|r| r.started > 0).count();
    assert_eq!(answering, 1, "exactly one room answers: {rooms:#?}");
    for s in services {
        s.stop().await;
    }
}

#[tokio::test]
async fn two_rooms_one_answer_from_the_louder() {
    rooms_hear(&[("kitchen", 0.3), ("hall", 1.0)]).await;
}

#[tokio::test]
async fn three_rooms_one_answer_from_the_loudest() {
    rooms_hear(&[("kitchen", 0.5), ("hall", 0.2), ("office", 1.0)]).await;
}
