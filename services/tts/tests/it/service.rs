//! The service on a real broker: sentences in, chunks out, in order; fallback voice; cancellation; bad input.

use hearth_bus::audio::{level_dbfs, pcm_to_samples, PlayChunk, StopPlayback};
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::tts::{Say, Spoken};
use hearth_bus::Envelope;
use hearth_tts::espeak::Espeak;
use hearth_tts::phonemes::VoiceConfig;
use hearth_tts::normalize::{normalize, split_sentences};

use crate::util::{self, Harness};

fn say(utterance: &str, session: Option<&str>, seq: u32, text: &str, last: bool) -> Say {
    Say { utterance_id: utterance.into(), session_id: session.map(String::from), seq, text: text.into(), last }
}

/// Chunks of `utterance` until its last one.
async fn collect_utterance(h: &mut Harness, utterance: &str) -> Vec<PlayChunk> {
    let mut chunks = Vec::new();
    loop {
        let e = h.next(|e| e.is::<PlayChunk>() || e.is::<Spoken>()).await;
        if let Some(s) = e.decode::<Spoken>() {
            h.spoken.push(s);
            continue;
        }
        let c = e.decode::<PlayChunk>().unwrap();
        if c.utterance_id != utterance {
            continue;
        }
        let last = c.last;
        chunks.push(c);
        if last {
            return chunks;
        }
    }
}

async fn spoken(h: &mut Harness, utterance: &str, n: usize) -> Vec<Spoken> {
    let mut out: Vec<Spoken> = h.spoken.iter().filter(|s| s.utterance_id == utterance).cloned().collect();
    h.spoken.retain(|s| s.utterance_id != utterance);
    while out.len() < n {
        let e = h.next(|e: &Envelope| e.is::<Spoken>()).await;
        let s = e.decode::<Spoken>().unwrap();
        if s.utterance_id == utterance {
            out.push(s);
        }
    }
    out
}

#[tokio::test]
async fn piper_sentences_stream_in_order() {
    let Some(ort) = util::onnxruntime() else { return };
    let voice = util::fixtures().join("tiny-sine.onnx");
    let mut h = Harness::start(util::config_for(&voice, &ort)).await;
    assert_eq!(h.capabilities, vec!["voice:piper:tiny-sine"]);

    let sentences = ["Hello there.", "It is 14:05 and 21°C outside, so take a light jacket.", "Bye!"];
    for (i, s) in sentences.iter().enumerate() {
        h.driver.publish("default", &say("u1", Some("s1"), i as u32, s, i == 2)).await.unwrap();
    }
    let chunks = collect_utterance(&mut h, "u1").await;
    let seqs: Vec<u32> = chunks.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (0..chunks.len() as u32).collect::<Vec<_>>(), "chunks in order, no gaps");
    assert!(chunks.iter().all(|c| c.sample_rate_hz == 22_050 && c.channels == 1 && c.session_id.as_deref() == Some("s1")));
    assert!(chunks.iter().all(|c| c.pcm.len() <= 2 * 2205), "chunks of at most 100 ms");
    assert_eq!(chunks.iter().filter(|c| c.last).count(), 1);

    // Lengths follow the input: 256 samples per phoneme id of every sentence.
    let config = VoiceConfig::from_file(&util::fixtures().join("tiny-sine.onnx.json")).unwrap();
    let espeak = Espeak::global(None).unwrap();
    let expected: Vec<usize> = sentences
        .iter()
        .map(|s| {
            split_sentences(&normalize(s), 400)
                .iter()
                .flat_map(|p| config.text_to_ids(&espeak, p).unwrap())
                .map(|ids| ids.len() * 256)
                .sum()
        })
        .collect();
    let total: usize = chunks.iter().map(|c| c.pcm.len() / 2).sum();
    assert_eq!(total, expected.iter().sum::<usize>());

    let spoken = spoken(&mut h, "u1", 3).await;
    for (i, s) in spoken.iter().enumerate() {
        assert_eq!(s.seq, i as u32);
        assert_eq!(s.voice, "piper:tiny-sine");
        assert!(s.error.is_none());
        assert_eq!(s.audio_ms, (expected[i] as u64 * 1000) / 22_050);
    }
    h.stop().await;
}

#[tokio::test]
async fn multi_speaker_voice_by_name() {
    let Some(ort) = util::onnxruntime() else { return };
    let voice = util::fixtures().join("tiny-sine-multi.onnx");
    let config = hearth_tts::TtsConfig { speaker: Some("bob".into()), ..util::config_for(&voice, &ort) };
    let mut h = Harness::start(config).await;
    h.driver.publish("default", &say("m1", None, 0, "Two speakers here.", true)).await.unwrap();
    let chunks = collect_utterance(&mut h, "m1").await;
    let samples: usize = chunks.iter().map(|c| c.pcm.len() / 2).sum();
    assert!(samples > 0 && samples % 256 == 0);
    assert_eq!(spoken(&mut h, "m1", 1).await[0].voice, "piper:tiny-sine-multi");
    assert_eq!(h.capabilities, vec!["voice:piper:tiny-sine-multi"]);
    h.stop().await;
}

#[tokio::test]
async fn espeak_speaks_when_no_piper_voice_is_installed() {
    let Some(ort) = util::onnxruntime() else { return };
    let missing = std::env::temp_dir().join("hearth-tts-test-no-such-voice.onnx");
    let mut h = Harness::start(util::config_for(&missing, &ort)).await;
    let status = h.next(|e| e.topic.ends_with("service/tts/status") && e.decode::<ServiceStatus>().is_some_and(|s| s.detail.is_some())).await;
    let status = status.decode::<ServiceStatus>().unwrap();
    assert_eq!(status.state, ServiceState::Online);
    let detail = status.detail.unwrap();
    assert!(detail.contains("no Piper voice") && detail.contains("espeak-ng:en-us"), "{detail}");

    h.driver.publish("default", &say("e1", Some("s1"), 0, "Hello, I am your house. The door is locked.", true)).await.unwrap();
    let chunks = collect_utterance(&mut h, "e1").await;
    let audio: Vec<i16> = chunks.iter().flat_map(|c| pcm_to_samples(&c.pcm)).collect();
    let seconds = audio.len() as f64 / 22_050.0;
    assert!(chunks.iter().all(|c| c.sample_rate_hz == 22_050));
    assert!((1.5..8.0).contains(&seconds), "{seconds} s");
    assert!(level_dbfs(&audio) > -35.0);
    let s = &spoken(&mut h, "e1", 1).await[0];
    assert_eq!(s.voice, "espeak-ng:en-us");
    assert!(s.audio_ms > 1500);
    h.stop().await;
}

#[tokio::test]
async fn stop_and_new_session_cancel_what_is_queued() {
    let Some(ort) = util::onnxruntime() else { return };
    let missing = std::env::temp_dir().join("hearth-tts-test-no-such-voice.onnx");
    let config = hearth_tts::TtsConfig { chunk_ms: 500, ..util::config_for(&missing, &ort) };
    let mut h = Harness::start(config).await;
    // Many long sentences for session s1 (espeak-ng needs a while for each), then session s2 takes over.
    let long = "This is a rather long sentence that keeps the speaker busy for quite a while. ".repeat(3);
    for i in 0..20u32 {
        h.driver.publish("default", &say("old", Some("s1"), i, &long, i == 19)).await.unwrap();
    }
    h.driver.publish("default", &say("new", Some("s2"), 0, "New turn.", true)).await.unwrap();
    let mut old_spoken = 0;
    loop {
        let e = h.next(|e| e.is::<PlayChunk>() || e.is::<Spoken>()).await;
        if let Some(c) = e.decode::<PlayChunk>() {
            assert!(!(c.utterance_id == "old" && c.last), "the replaced utterance must not finish");
            if c.utterance_id == "new" && c.last {
                break;
            }
        } else if let Some(s) = e.decode::<Spoken>() {
            old_spoken += usize::from(s.utterance_id == "old");
        }
    }
    assert!(old_spoken < 20, "queued sentences of the old session were dropped ({old_spoken} spoken)");

    // A stop drops the rest of an utterance; the next one plays normally.
    for i in 0..10u32 {
        h.driver.publish("default", &say("stopped", None, i, &long, i == 9)).await.unwrap();
    }
    h.driver.publish("default", &StopPlayback { reason: "user".into() }).await.unwrap();
    // rumqttd keeps one log per subscription filter, so a Say sent right after a stop can overtake it
    // (and be cancelled by it); give the stop a head start.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    h.driver.publish("default", &say("after", None, 0, "Okay.", true)).await.unwrap();
    loop {
        let e = h.next(|e| e.is::<PlayChunk>()).await;
        let c = e.decode::<PlayChunk>().unwrap();
        assert!(!(c.utterance_id == "stopped" && c.last), "the stopped utterance must not finish");
        if c.utterance_id == "after" && c.last {
            break;
        }
    }
    h.stop().await;
}

#[tokio::test]
async fn bad_input_gets_an_answer_not_a_crash() {
    let Some(ort) = util::onnxruntime() else { return };
    let voice = util::fixtures().join("tiny-sine.onnx");
    let mut h = Harness::start(util::config_for(&voice, &ort)).await;

    h.driver.publish_raw("hearth/default/tts/say".into(), false, b"{not json".to_vec()).await.unwrap();
    h.driver.publish("default", &say("empty", None, 0, "   ", true)).await.unwrap();
    let chunks = collect_utterance(&mut h, "empty").await;
    assert_eq!(chunks.len(), 1);
    assert!(chunks[0].pcm.is_empty() && chunks[0].last);
    assert_eq!(spoken(&mut h, "empty", 1).await[0].error.as_deref(), Some("empty text"));

    h.driver.publish("default", &say("odd", None, 0, "Hi 😀\u{7} there ✓ ☃ \u{0} ok…", true)).await.unwrap();
    collect_utterance(&mut h, "odd").await;
    let s = &spoken(&mut h, "odd", 1).await[0];
    assert!(s.error.is_none() && s.audio_ms > 0, "{s:?}");

    let big = "The quick brown fox jumps over the lazy dog, again and again. ".repeat(170);
    assert!(big.len() >= 10_000);
    h.driver.publish("default", &say("big", None, 0, &big, true)).await.unwrap();
    let chunks = collect_utterance(&mut h, "big").await;
    assert!(chunks.len() > 50);
    let s = &spoken(&mut h, "big", 1).await[0];
    assert!(s.error.is_none() && s.audio_ms > 60_000, "{s:?}");
    h.stop().await;
}
