//! Volume (scaling and persistence), a microphone mute that survives restarts, and malformed payloads
//! on every subscribed topic.

use std::time::Duration;

use hearth_audio::config::{state_path_in, Pacing};
use hearth_bus::audio::{samples_to_pcm, AudioFrame, Chime, ChimeKind, MicState, PlayChunk, Played, SetMicMuted, SetVolume, Volume};

use crate::util::*;

fn tone_chunk(id: &str, samples: &[i16]) -> PlayChunk {
    PlayChunk {
        utterance_id: id.into(),
        session_id: None,
        seq: 0,
        sample_rate_hz: 22_050,
        channels: 1,
        pcm: samples_to_pcm(samples),
        last: true,
    }
}

#[tokio::test]
async fn volume_scales_playback_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/played", "audio/volume"]).await;
    let mut config = headless(dir.path());
    config.output = format!("file:{}", out.display());
    config.output_pacing = Pacing::Fast;
    config.volume_percent = 100;
    let service = rig.service(config.clone()).await;
    assert_eq!(next::<Volume>(&mut inbox).await, Volume { volume: 100 });

    let tone = to_i16(&sine(22_050, 500.0, 0.5, 0.8));
    client.publish(SITE, &tone_chunk("loud", &tone)).await.unwrap();
    assert_eq!(next::<Played>(&mut inbox).await.utterance_id, "loud");
    client.publish(SITE, &SetVolume { volume: 50 }).await.unwrap();
    assert_eq!(next::<Volume>(&mut inbox).await, Volume { volume: 50 });
    client.publish(SITE, &tone_chunk("soft", &tone)).await.unwrap();
    assert_eq!(next::<Played>(&mut inbox).await.utterance_id, "soft");

    let (_, all) = read_wav(&out);
    let (loud, soft) = all.split_at(tone.len());
    let ratio = peak(&soft[2000..]) as f32 / peak(&loud[2000..]) as f32;
    assert!((ratio - 0.25).abs() < 0.01, "50 % gives {ratio} of the amplitude");
    assert!((peak(&loud[2000..]) - peak(&tone[2000..])).abs() <= 1, "100 % plays the samples as they are");
    service.stop().await;

    let stored = std::fs::read_to_string(state_path_in(dir.path())).unwrap();
    assert!(stored.contains("50"), "{stored}");
    // Restarted with the same data_dir: the stored volume wins over `volume_percent`.
    let (_c2, mut inbox2, _conn2) = rig.listener(&["audio/volume"]).await;
    let service = rig.service(config).await;
    let v = collect_for::<Volume>(&mut inbox2, Duration::from_millis(800)).await;
    assert_eq!(v.last(), Some(&Volume { volume: 50 }), "{v:?}");
    service.stop().await;
}

#[tokio::test]
async fn a_muted_microphone_comes_back_muted_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("in.wav");
    write_wav(&wav, 16_000, 1, &sine(16_000, 440.0, 0.5, 0.5));
    let rig = Rig::new();
    let mut config = headless(dir.path());
    config.input = format!("file:{}", wav.display());
    // After the file, silence in real time until shutdown: a live microphone never stops sending.
    config.tail_silence_ms = 100;

    let (client, mut inbox, _conn) = rig.listener(&["audio/frame", "audio/mic"]).await;
    let service = rig.service(config.clone()).await;
    next::<AudioFrame>(&mut inbox).await;
    client.publish(SITE, &SetMicMuted { muted: true }).await.unwrap();
    let state = next_matching(&mut inbox, |e| e.decode::<MicState>().is_some_and(|m| m.muted)).await;
    assert!(state.retain || !state.payload.is_empty());
    service.stop().await;
    let stored = std::fs::read_to_string(state_path_in(dir.path())).unwrap();
    assert!(stored.contains("\"mic_muted\":true"), "{stored}");

    // A new service on the same data_dir: every mic state anyone sees says muted (the retained one
    // from before and the new service's own), and no frame leaves while it is muted.
    let (client2, mut inbox2, _conn2) = rig.listener(&["audio/frame", "audio/mic"]).await;
    let service = rig.service(config.clone()).await;
    let mut states = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, inbox2.recv()).await {
        assert!(!e.is::<AudioFrame>(), "a frame left a muted microphone after the restart");
        states.extend(e.decode::<MicState>());
    }
    assert!(states.len() >= 2 && states.iter().all(|s| s.muted), "{states:?}");
    // The user unmutes: frames flow again, and the next restart comes back live.
    client2.publish(SITE, &SetMicMuted { muted: false }).await.unwrap();
    next::<AudioFrame>(&mut inbox2).await;
    service.stop().await;
    let service = rig.service(config).await;
    next::<AudioFrame>(&mut inbox2).await;
    service.stop().await;
    drop(client);
}

#[tokio::test]
async fn malformed_payloads_on_every_topic_do_not_stop_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/played", "audio/volume"]).await;
    let mut config = headless(dir.path());
    config.output_pacing = Pacing::Fast;
    let service = rig.service(config).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let garbage: [&[u8]; 5] = [b"", b"{not json", &[0xc1, 0xff, 0x00], b"[1,2,3]", br#"{"volume":"loud","muted":7}"#];
    for suffix in ["audio/play", "audio/chime", "audio/stop", "audio/volume/set", "audio/mic/set"] {
        for g in garbage {
            client.publish_raw(format!("hearth/{SITE}/{suffix}"), false, g.to_vec()).await.unwrap();
        }
    }
    // Well-formed but nonsensical: a zero sample rate, no channels, a volume over 100.
    let mut bad = tone_chunk("weird", &[1000; 100]);
    bad.sample_rate_hz = 0;
    client.publish(SITE, &bad).await.unwrap();
    let mut bad = tone_chunk("weird2", &[1000; 100]);
    bad.channels = 0;
    client.publish(SITE, &bad).await.unwrap();
    client.publish_raw(format!("hearth/{SITE}/audio/volume/set"), false, br#"{"volume":250}"#.to_vec()).await.unwrap();

    // Still working: the volume was clamped, the odd chunks were answered, a chime plays.
    client.publish(SITE, &Chime { chime: ChimeKind::GotIt, session_id: None }).await.unwrap();
    let mut ids = Vec::new();
    let mut volumes = Vec::new();
    while ids.len() < 3 {
        let e = next_matching(&mut inbox, |e| e.is::<Played>() || e.is::<Volume>()).await;
        if let Some(p) = e.decode::<Played>() {
            ids.push(p.utterance_id);
        } else if let Some(v) = e.decode::<Volume>() {
            volumes.push(v);
        }
    }
    assert!(ids.contains(&"weird".to_string()) && ids.contains(&"weird2".to_string()), "{ids:?}");
    assert!(ids.iter().any(|i| i.starts_with("chime-got_it-")), "{ids:?}");
    volumes.extend(collect_for::<Volume>(&mut inbox, Duration::from_millis(300)).await);
    assert!(volumes.contains(&Volume { volume: 100 }), "{volumes:?}");
    assert!(!service.task.is_finished());
    let dropped = hearth_bus::codec::dropped_payloads();
    assert!(dropped.get(&format!("hearth/{SITE}/audio/play")).copied().unwrap_or(0) >= 4, "{dropped:?}");
    service.stop().await;
}
