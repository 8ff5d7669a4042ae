//! Several rooms hear one wake word: on a real broker, one wake service per room (each serving only
//! its own site, as on separate machines) and the arbiter. Exactly one room gets `wake/detected`, the
//! loudest; the others get `wake/lost`. Also: a wake service leaves rooms it does not serve alone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use hearth_bus::audio::AudioFrame;
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::wake::{LostReason, WakeDetected, WakeHeard, WakeLost, ARBITER_SERVICE};
use hearth_bus::{Bus, BusClient, BusConfig, Inbox, Shutdown};
use hearth_wake::testkit::{self, espeak, silence, tone};
use hearth_wake::{ArbiterConfig, WakeConfig, WordConfig};

const WAIT: Duration = Duration::from_secs(20);

struct House {
    talker: BusClient,
    inbox: Inbox,
    shutdown: Shutdown,
    _connections: Vec<hearth_bus::Connection>,
}

/// A broker, the arbiter (when `arbiter`), and one wake service per room serving only that room.
async fn house(rooms: &[&str], model_dir: PathBuf, word: &str, arbiter: bool) -> House {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, connection) = Bus::connect(&bus_config, "test", "master").unwrap();
    let Bus { client: talker, mut inbox } = test;
    talker.wait_connected(WAIT).await.unwrap();
    talker.subscribe("hearth/#").await.unwrap();
    let shutdown = Shutdown::new();
    let mut connections = vec![connection];
    if arbiter {
        let (bus, conn) = Bus::connect(&bus_config, ARBITER_SERVICE, "master").unwrap();
        tokio::spawn(hearth_wake::arbiter_service::run(ArbiterConfig::default(), bus, shutdown.clone()));
        connections.push(conn);
        wait_online(&mut inbox, "master", ARBITER_SERVICE).await;
    }
    for room in rooms {
        let config = WakeConfig {
            model_dir: Some(model_dir.clone()),
            words: vec![WordConfig::new(word)],
            onnxruntime: testkit::onnxruntime(),
            ..WakeConfig::default()
        };
        // Starting: `online` only once the models are loaded (the frames are subscribed to right after).
        let (bus, conn) = Bus::connect_starting(&bus_config, "wake", room).unwrap();
        tokio::spawn(hearth_wake::run(config, bus, shutdown.clone()));
        connections.push(conn);
        wait_online(&mut inbox, room, "wake").await;
    }
    // The subscription to audio follows `online` by a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    House { talker, inbox, shutdown, _connections: connections }
}

async fn wait_online(inbox: &mut Inbox, site: &str, service: &str) {
    let topic = hearth_bus::service::status_topic(site, service);
    let found = inbox
        .next_matching(WAIT, |e| {
            e.topic == topic && e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Online)
        })
        .await;
    assert!(found.is_some(), "{service} at {site} never came online");
}

/// Plays `audio` into every room at once, each at its own gain, paced like microphones.
async fn play_everywhere(client: &BusClient, audio: &[i16], gains: &[(&str, f32)]) {
    for (i, frame) in audio.chunks(320).enumerate() {
        for (site, gain) in gains {
            let scaled: Vec<i16> = frame.iter().map(|&s| (s as f32 * gain).round() as i16).collect();
            let msg = AudioFrame::from_samples(i as u64, 1_000_000 + i as i64 * 20, 16_000, 1, &scaled);
            client.publish(site, &msg).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// What each room got within `quiet` after the last message: detections and losses, by site.
#[derive(Debug, Default)]
struct Answers {
    detected: BTreeMap<String, usize>,
    lost: BTreeMap<String, (String, LostReason)>,
    heard: usize,
}

async fn collect(inbox: &mut Inbox, quiet: Duration) -> Answers {
    let mut answers = Answers::default();
    while let Ok(Some(e)) = tokio::time::timeout(quiet, inbox.recv()).await {
        let site = e.site().unwrap_or_default().to_string();
        if e.decode::<WakeDetected>().is_some() {
            *answers.detected.entry(site).or_default() += 1;
        } else if let Some(lost) = e.decode::<WakeLost>() {
            answers.lost.insert(site, (lost.winner_site, lost.reason));
        } else if e.decode::<WakeHeard>().is_some() {
            answers.heard += 1;
        }
    }
    answers
}

async fn one_answer(rooms: &[(&str, f32)], model_dir: PathBuf, word: &str, audio: &[i16]) {
    let names: Vec<&str> = rooms.iter().map(|(r, _)| *r).collect();
    let mut house = house(&names, model_dir, word, true).await;
    play_everywhere(&house.talker, audio, rooms).await;
    let answers = collect(&mut house.inbox, Duration::from_secs(3)).await;
    let loudest = rooms.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    assert_eq!(answers.detected, BTreeMap::from([(loudest.to_string(), 1)]), "{answers:?}");
    assert!(answers.heard >= 2, "at least two rooms heard it: {answers:?}");
    assert_eq!(answers.lost.len(), answers.heard - 1, "every other room that heard it lost: {answers:?}");
    for (site, (winner, reason)) in &answers.lost {
        assert_ne!(site, loudest);
        assert_eq!((winner.as_str(), *reason), (loudest, LostReason::Weaker), "{answers:?}");
    }
    house.shutdown.trigger();
}

fn tone_word() -> Vec<i16> {
    [silence(0.6), tone(1000.0, 0.6, -6.0), silence(1.0)].concat()
}

#[tokio::test]
async fn two_rooms_hear_a_tone_word_and_only_the_louder_answers() {
    if testkit::onnxruntime().is_none() {
        return;
    }
    let dir = testkit::standin_models_dir().join("openwakeword");
    one_answer(&[("kitchen", 0.25), ("hall", 0.8)], dir, "tone_1k", &tone_word()).await;
}

#[tokio::test]
async fn three_rooms_hear_hey_jarvis_and_only_the_loudest_answers() {
    let (Some(dir), Some(_)) = (testkit::real_oww_dir(), testkit::onnxruntime()) else { return };
    let Some(speech) = espeak("hey jarvis", "en-us", 150) else { return };
    let audio = [silence(0.5), speech, silence(1.5)].concat();
    one_answer(&[("kitchen", 0.5), ("hall", 1.0), ("office", 0.25)], dir, "hey_jarvis", &audio).await;
}

#[tokio::test]
async fn rooms_are_served_only_by_their_own_wake_service() {
    if testkit::onnxruntime().is_none() {
        return;
    }
    let dir = testkit::standin_models_dir().join("openwakeword");
    // No arbiter: each wake service answers for its own room itself, and only for it.
    let mut house = house(&["kitchen"], dir, "tone_1k", false).await;
    play_everywhere(&house.talker, &tone_word(), &[("garage", 1.0)]).await;
    let answers = collect(&mut house.inbox, Duration::from_secs(2)).await;
    assert!(answers.detected.is_empty() && answers.heard == 0, "nobody serves the garage: {answers:?}");
    play_everywhere(&house.talker, &tone_word(), &[("kitchen", 1.0)]).await;
    let answers = collect(&mut house.inbox, Duration::from_secs(2)).await;
    assert_eq!(answers.detected, BTreeMap::from([("kitchen".to_string(), 1)]), "{answers:?}");
    house.shutdown.trigger();
}
