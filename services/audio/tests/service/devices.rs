//! Sound cards: the ALSA `null` device opens and runs; a device that is not there leaves the
//! service up, `unavailable`, with a message that says what to set, and requests are still answered.

use std::time::Duration;

use hearth_bus::audio::{samples_to_pcm, AudioFrame, PlayChunk, Played};
use hearth_bus::service::ServiceState;

use crate::util::*;

#[tokio::test]
async fn alsa_null_device_captures_and_plays() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/frame", "audio/played"]).await;
    let mut config = headless(dir.path());
    config.input = "device".into();
    config.input_device = "null".into();
    config.output = "device".into();
    config.output_device = "null".into();
    let service = rig.service(config).await;

    let frame = next::<AudioFrame>(&mut inbox).await;
    assert_eq!((frame.sample_rate_hz, frame.channels, frame.samples().len()), (16_000, 1, 320));
    assert!(frame.samples().iter().all(|&s| s == 0), "the null device captures silence");
    let chunk = PlayChunk {
        utterance_id: "u".into(),
        session_id: None,
        seq: 0,
        sample_rate_hz: 22_050,
        channels: 1,
        pcm: samples_to_pcm(&to_i16(&sine(22_050, 700.0, 0.3, 0.3))),
        last: true,
    };
    client.publish(SITE, &chunk).await.unwrap();
    let played = next::<Played>(&mut inbox).await;
    assert_eq!((played.utterance_id.as_str(), played.interrupted), ("u", false));
    assert!((played.duration_ms as i64 - 300).abs() <= 5, "{played:?}");
    let status = current_status(&rig).await;
    assert_eq!(status.state, ServiceState::Online, "{status:?}");
    service.stop().await;
}

#[tokio::test]
async fn a_device_that_is_not_there_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/played", "service/audio/status"]).await;
    let mut config = headless(dir.path());
    config.input = "device".into();
    config.input_device = "no-such-mic-3f9".into();
    config.output = "device".into();
    config.output_device = "no-such-speaker-3f9".into();
    let service = rig.service(config).await;

    let status = status_where(&mut inbox, |s| {
        s.state == ServiceState::Unavailable && s.detail.as_deref().is_some_and(|d| d.contains("no microphone") && d.contains("no speaker"))
    })
    .await;
    let detail = status.detail.unwrap();
    for needle in ["no-such-mic-3f9", "[audio] input = \"file:", "hearth doctor", "[audio] output = \"file:"] {
        assert!(detail.contains(needle), "missing {needle:?} in: {detail}");
    }
    // Playback requests get an answer: interrupted, nothing played.
    let chunk = PlayChunk {
        utterance_id: "u".into(),
        session_id: Some("s".into()),
        seq: 0,
        sample_rate_hz: 16_000,
        channels: 1,
        pcm: samples_to_pcm(&[0; 320]),
        last: true,
    };
    client.publish(SITE, &chunk).await.unwrap();
    let played = next::<Played>(&mut inbox).await;
    assert_eq!((played.utterance_id.as_str(), played.duration_ms, played.interrupted), ("u", 0, true));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!service.task.is_finished(), "the service stays up");
    service.stop().await;
}

/// The system default device: where it cannot be opened (no sound card, as in CI) the service
/// says so with the clear message; where it can, frames flow.
#[tokio::test]
async fn the_default_device_opens_or_says_what_to_set() {
    let mut alsa = hearth_audio::device::AlsaErrors::capture();
    let opens = hearth_audio::device::open_capture("").map(drop).map_err(|e| e.to_string());
    println!("alsa-lib said: {}", alsa.take());
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new();
    let (_client, mut inbox, _conn) = rig.listener(&["audio/frame", "service/audio/status"]).await;
    let mut config = headless(dir.path());
    config.input = "device".into();
    let service = rig.service(config).await;
    match opens {
        Ok(()) => {
            next::<AudioFrame>(&mut inbox).await;
        }
        Err(why) => {
            let status = status_where(&mut inbox, |s| s.state == ServiceState::Unavailable).await;
            let detail = status.detail.unwrap();
            assert!(detail.starts_with("no microphone:") && detail.contains(&why), "{detail}");
            assert!(detail.contains("[audio] input = \"file:") && detail.contains("USB microphone"), "{detail}");
            println!("default device message: {detail}");
        }
    }
    assert!(!service.task.is_finished());
    service.stop().await;
}
