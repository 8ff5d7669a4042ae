//! Microphone sources: WAV files (fast and real time), silence after the end, mute.

use std::time::{Duration, Instant};

use hearth_audio::config::{AfterInput, Pacing};
use hearth_bus::audio::{AudioFrame, MicState, SetMicMuted, MIC_FRAME_SAMPLES};

use crate::util::*;

fn samples_of(frames: &[AudioFrame]) -> Vec<i16> {
    frames.iter().flat_map(|f| f.samples()).collect()
}

#[tokio::test]
async fn fast_file_48k_stereo_becomes_16k_frames_with_rising_seq() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("in.wav");
    write_wav(&wav, 48_000, 2, &sine(48_000, 1000.0, 1.0, 0.5));
    let rig = Rig::new();
    let (_c, mut inbox, _conn) = rig.listener(&["audio/frame"]).await;
    let mut config = headless(dir.path());
    config.input = format!("file:{}", wav.display());
    config.input_pacing = Pacing::Fast;
    config.after_input_file = AfterInput::Stop;
    let service = rig.service(config).await;

    let mut frames = Vec::new();
    while frames.len() < 50 {
        frames.push(next::<AudioFrame>(&mut inbox).await);
    }
    // One second is exactly 50 frames; nothing follows with `after_input_file = "stop"`.
    let extra = collect_for::<AudioFrame>(&mut inbox, Duration::from_millis(500)).await;
    assert!(extra.is_empty(), "{} frames after the end", extra.len());
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.seq, i as u64);
        assert_eq!((f.sample_rate_hz, f.channels, f.samples().len()), (16_000, 1, MIC_FRAME_SAMPLES));
        if i > 0 {
            assert_eq!(f.timestamp_ms - frames[i - 1].timestamp_ms, 20);
        }
    }
    let pcm = samples_of(&frames);
    let f = measured_freq(&pcm[1600..14_400], 16_000);
    assert!((f - 1000.0).abs() < 5.0, "measured {f} Hz");
    let level = hearth_bus::audio::level_dbfs(&pcm[1600..14_400]);
    assert!((level - (-9.0)).abs() < 0.5, "level {level} dBFS");
    service.stop().await;
}

#[tokio::test]
async fn realtime_file_44k1_is_paced_then_silence_follows() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("in.wav");
    write_wav(&wav, 44_100, 1, &sine(44_100, 440.0, 0.6, 0.5));
    let rig = Rig::new();
    let (_c, mut inbox, _conn) = rig.listener(&["audio/frame"]).await;
    let mut config = headless(dir.path());
    config.input = format!("file:{}", wav.display());
    config.tail_silence_ms = 200;
    let service = rig.service(config).await;

    let first = next::<AudioFrame>(&mut inbox).await;
    let started = Instant::now();
    let mut frames = vec![first];
    while frames.len() < 30 {
        frames.push(next::<AudioFrame>(&mut inbox).await);
    }
    // 0.6 s of audio is 30 frames; in real time the 30th comes about 0.58 s after the first.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450), "30 frames in {took:?}: not paced");
    let f = measured_freq(&samples_of(&frames)[800..8800], 16_000);
    assert!((f - 440.0).abs() < 3.0, "measured {f} Hz");
    // Then silence, with seq still counting, for as long as the service runs.
    let mut after = Vec::new();
    while after.len() < 20 {
        after.push(next::<AudioFrame>(&mut inbox).await);
    }
    for (i, f) in after.iter().enumerate() {
        assert_eq!(f.seq, 30 + i as u64);
    }
    assert!(after[2..].iter().all(|f| f.samples().iter().all(|&s| s == 0)), "silence after the file");
    service.stop().await;
}

#[tokio::test]
async fn muted_microphone_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("in.wav");
    write_wav(&wav, 16_000, 1, &sine(16_000, 700.0, 0.2, 0.3));
    let rig = Rig::new();
    let (client, mut inbox, _conn) = rig.listener(&["audio/frame", "audio/mic"]).await;
    let mut config = headless(dir.path());
    config.input = format!("file:{}", wav.display());
    let service = rig.service(config).await;

    let state = next::<MicState>(&mut inbox).await;
    assert!(!state.muted);
    let before = next::<AudioFrame>(&mut inbox).await;
    client.publish(SITE, &SetMicMuted { muted: true }).await.unwrap();
    assert!(next::<MicState>(&mut inbox).await.muted);
    // Frames already on their way may still land; then nothing.
    let _ = collect_for::<AudioFrame>(&mut inbox, Duration::from_millis(150)).await;
    let leaked = collect_for::<AudioFrame>(&mut inbox, Duration::from_millis(500)).await;
    assert!(leaked.is_empty(), "{} frames while muted", leaked.len());

    client.publish(SITE, &SetMicMuted { muted: false }).await.unwrap();
    assert!(!next::<MicState>(&mut inbox).await.muted);
    let resumed = next::<AudioFrame>(&mut inbox).await;
    assert!(resumed.seq > before.seq);
    service.stop().await;
}

#[tokio::test]
async fn a_missing_input_file_leaves_the_service_up_and_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::new();
    let (_c, mut inbox, _conn) = rig.listener(&["service/audio/status"]).await;
    let mut config = headless(dir.path());
    config.input = format!("file:{}", dir.path().join("nope.wav").display());
    let service = rig.service(config).await;
    let status = status_where(&mut inbox, |s| !is_online(s)).await;
    let detail = status.detail.unwrap();
    assert!(detail.contains("nope.wav") && detail.contains("[audio] input"), "{detail}");
    assert!(!service.task.is_finished());
    service.stop().await;
}
