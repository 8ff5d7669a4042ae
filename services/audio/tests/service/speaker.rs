//! Playback into a WAV sink: order, `played` events, streaming start, stop, chimes.

use std::time::Duration;

use hearth_audio::config::Pacing;
use hearth_bus::audio::{samples_to_pcm, Chime, ChimeKind, Duck, PlayChunk, Played, StopPlayback};
use hearth_bus::BusClient;

use crate::util::*;

fn chunk(id: &str, seq: u32, rate: u32, samples: &[i16], last: bool) -> PlayChunk {
    PlayChunk {
        utterance_id: id.into(),
        session_id: Some("s1".into()),
        seq,
        sample_rate_hz: rate,
        channels: 1,
        pcm: samples_to_pcm(samples),
        last,
    }
}

/// Sends `samples` as chunks of `per` samples, the last marked.
async fn send_utterance(client: &BusClient, id: &str, rate: u32, samples: &[i16], per: usize) {
    let parts: Vec<&[i16]> = samples.chunks(per).collect();
    for (i, part) in parts.iter().enumerate() {
        client.publish(SITE, &chunk(id, i as u32, rate, part, i + 1 == parts.len())).await.unwrap();
    }
}

#[tokio::test]
async fn two_utterances_play_in_order_into_the_wav_sink() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/played", "audio/duck"]).await;
    let mut config = headless(dir.path());
    config.output = format!("file:{}", out.display());
    config.output_pacing = Pacing::Fast;
    config.volume_percent = 100;
    let service = rig.service(config).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // a: 0.5 s of 440 Hz at 22.05 kHz in 4 chunks; b: 0.25 s of 880 Hz at 16 kHz, stereo-free.
    let a = to_i16(&sine(22_050, 440.0, 0.5, 0.5));
    let b = to_i16(&sine(16_000, 880.0, 0.25, 0.5));
    send_utterance(&client, "a", 22_050, &a, 3000).await;
    send_utterance(&client, "b", 16_000, &b, 1600).await;

    assert_eq!(next::<Duck>(&mut inbox).await, Duck { active: true });
    let pa = next::<Played>(&mut inbox).await;
    assert_eq!((pa.utterance_id.as_str(), pa.interrupted, pa.session_id.as_deref()), ("a", false, Some("s1")));
    assert!((pa.duration_ms as i64 - 500).abs() <= 2, "{pa:?}");
    // The file is complete up to the end of `a` when its `played` arrives.
    let (rate, after_a) = read_wav(&out);
    assert_eq!(rate, 22_050);
    assert!(after_a.len() >= 11_025, "{} samples", after_a.len());
    let pb = next::<Played>(&mut inbox).await;
    assert_eq!((pb.utterance_id.as_str(), pb.interrupted), ("b", false));
    assert!((pb.duration_ms as i64 - 250).abs() <= 2, "{pb:?}");
    assert_eq!(next::<Duck>(&mut inbox).await, Duck { active: false });

    let (_, all) = read_wav(&out);
    assert_eq!(all.len(), 11_025 + 5_513);
    let fa = measured_freq(&all[1000..10_000], 22_050);
    let fb = measured_freq(&all[12_000..16_000], 22_050);
    assert!((fa - 440.0).abs() < 3.0 && (fb - 880.0).abs() < 5.0, "{fa} Hz then {fb} Hz");
    service.stop().await;
}

#[tokio::test]
async fn playback_starts_before_the_last_chunk_and_stop_interrupts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/played", "audio/duck"]).await;
    let mut config = headless(dir.path());
    config.output = format!("file:{}", out.display());
    let service = rig.service(config).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Only the first 2 s of a long reply arrive; it starts playing anyway.
    let tone = to_i16(&sine(22_050, 600.0, 2.0, 0.4));
    client.publish(SITE, &chunk("long", 0, 22_050, &tone, false)).await.unwrap();
    client.publish(SITE, &chunk("next", 0, 22_050, &tone, true)).await.unwrap();
    assert_eq!(next::<Duck>(&mut inbox).await, Duck { active: true });
    tokio::time::sleep(Duration::from_millis(400)).await;
    client.publish(SITE, &StopPlayback { reason: "user".into() }).await.unwrap();

    let p1 = next::<Played>(&mut inbox).await;
    let p2 = next::<Played>(&mut inbox).await;
    assert_eq!((p1.utterance_id.as_str(), p1.interrupted), ("long", true));
    assert!(p1.duration_ms > 100 && p1.duration_ms < 1500, "{p1:?}");
    assert_eq!((p2.utterance_id.as_str(), p2.interrupted, p2.duration_ms), ("next", true, 0));
    assert_eq!(next::<Duck>(&mut inbox).await, Duck { active: false });
    // Late chunks of the stopped utterance do not bring it back.
    client.publish(SITE, &chunk("long", 1, 22_050, &tone[..2205], true)).await.unwrap();
    assert!(collect_for::<Played>(&mut inbox, Duration::from_millis(400)).await.is_empty());
    let (_, played) = read_wav(&out);
    assert!(played.len() < 44_100, "{} samples were written", played.len());
    service.stop().await;
}

#[tokio::test]
async fn chimes_play_through_the_same_queue() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/played"]).await;
    let mut config = headless(dir.path());
    config.output = format!("file:{}", out.display());
    config.output_pacing = Pacing::Fast;
    config.volume_percent = 100;
    let service = rig.service(config).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    client.publish(SITE, &Chime { chime: ChimeKind::Listening, session_id: Some("s9".into()) }).await.unwrap();
    client.publish(SITE, &Chime { chime: ChimeKind::Timer, session_id: None }).await.unwrap();
    let p1 = next::<Played>(&mut inbox).await;
    let p2 = next::<Played>(&mut inbox).await;
    assert!(p1.utterance_id.starts_with("chime-listening-") && p1.session_id.as_deref() == Some("s9"), "{p1:?}");
    assert!(p2.utterance_id.starts_with("chime-timer-"), "{p2:?}");
    let expected = hearth_audio::chime::render(ChimeKind::Listening, 22_050).len()
        + hearth_audio::chime::render(ChimeKind::Timer, 22_050).len();
    let (_, all) = read_wav(&out);
    assert_eq!(all.len(), expected);
    assert!(peak(&all) > 3000);
    service.stop().await;
}
