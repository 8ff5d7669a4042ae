//! The engine on the fixture voices and on espeak-ng, without the bus.

use hearth_bus::audio::level_dbfs;
use hearth_tts::espeak::{Espeak, ESPEAK_SAMPLE_RATE_HZ};
use hearth_tts::piper::{self, PiperVoice, Scales};
use hearth_tts::{Engine, TtsConfig};

use crate::util;

fn load(name: &str, speaker: Option<&str>, scales: &Scales) -> Option<PiperVoice> {
    let ort = util::onnxruntime()?;
    let env = piper::environment(&ort).unwrap();
    Some(PiperVoice::load(&util::fixtures().join(name), speaker, scales, &env, 1).unwrap())
}

#[test]
fn audio_length_follows_the_phoneme_ids() {
    let Some(mut voice) = load("tiny-sine.onnx", None, &Scales::default()) else { return };
    let espeak = Espeak::global(None).unwrap();
    assert_eq!(voice.sample_rate_hz(), 22_050);
    for text in ["Hi.", "The quick brown fox jumps over the lazy dog."] {
        let ids = voice.text_to_ids(&espeak, text).unwrap();
        assert_eq!(ids.len(), 1);
        let audio = voice.ids_to_audio(&ids[0]).unwrap();
        assert_eq!(audio.len(), ids[0].len() * 256, "{text}");
        assert!(level_dbfs(&audio) > -6.0);
    }
    // length_scale from the config can be overridden: 1.5 → floor(384) samples per id.
    let Some(mut slow) = load("tiny-sine.onnx", None, &Scales { length_scale: Some(1.5), ..Scales::default() }) else { return };
    assert_eq!(slow.ids_to_audio(&[1, 0, 20, 0, 2]).unwrap().len(), 5 * 384);
    // A [1, 1, T] output is accepted too.
    let Some(mut rank3) = load("tiny-sine-rank3.onnx", None, &Scales::default()) else { return };
    assert_eq!(rank3.ids_to_audio(&[1, 0, 2]).unwrap().len(), 3 * 256);
}

#[test]
fn speakers_by_name_or_number() {
    let ids = [1, 0, 20, 0, 30, 0, 2];
    let Some(mut alice) = load("tiny-sine-multi.onnx", Some("alice"), &Scales::default()) else { return };
    let Some(mut carol) = load("tiny-sine-multi.onnx", Some("carol"), &Scales::default()) else { return };
    let Some(mut two) = load("tiny-sine-multi.onnx", Some("2"), &Scales::default()) else { return };
    let (a, c, t) = (alice.ids_to_audio(&ids).unwrap(), carol.ids_to_audio(&ids).unwrap(), two.ids_to_audio(&ids).unwrap());
    assert_eq!(a.len(), c.len());
    assert_ne!(a, c, "speakers must sound different");
    assert_eq!(c, t, "carol is speaker 2");
    let ort = util::onnxruntime().unwrap();
    let env = piper::environment(&ort).unwrap();
    let err = PiperVoice::load(&util::fixtures().join("tiny-sine-multi.onnx"), Some("dave"), &Scales::default(), &env, 1);
    assert!(err.err().unwrap().to_string().contains("unknown speaker"));
}

#[test]
fn espeak_voice_speaks_for_real() {
    let espeak = Espeak::global(None).unwrap();
    let mut engine = Engine::with_espeak("en-us", 175, espeak);
    assert_eq!(engine.sample_rate_hz(), ESPEAK_SAMPLE_RATE_HZ);
    let text = "Good morning. The kitchen timer is done.";
    let mut audio = Vec::new();
    for piece in engine.pieces(text) {
        audio.extend(engine.synthesize(&piece).unwrap());
    }
    let seconds = audio.len() as f64 / ESPEAK_SAMPLE_RATE_HZ as f64;
    // About 2.5 s at 175 words per minute; allow for the pauses espeak adds.
    assert!((1.2..6.0).contains(&seconds), "{seconds} s");
    assert!(level_dbfs(&audio) > -35.0, "{} dBFS", level_dbfs(&audio));
    // Speech has gaps and loud parts: not a constant tone.
    let loud = audio.chunks(441).filter(|c| level_dbfs(c) > -30.0).count();
    let quiet = audio.chunks(441).filter(|c| level_dbfs(c) < -50.0).count();
    assert!(loud > 20 && quiet > 2, "loud {loud} quiet {quiet}");
}

#[test]
fn corrupt_or_missing_voices_fall_back_to_espeak() {
    let Some(ort) = util::onnxruntime() else { return };
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"this is not onnx").unwrap();
    std::fs::copy(util::fixtures().join("tiny-sine.onnx.json"), dir.path().join("garbage.onnx.json")).unwrap();
    let bad_json = dir.path().join("badjson.onnx");
    std::fs::copy(util::fixtures().join("tiny-sine.onnx"), &bad_json).unwrap();
    std::fs::write(dir.path().join("badjson.onnx.json"), b"{\"audio\": {").unwrap();
    let missing = dir.path().join("missing.onnx");
    for (model, expect) in [(garbage, "not a loadable ONNX model"), (bad_json, "not a Piper voice config"), (missing, "no Piper voice")] {
        let config = util::config_for(&model, &ort);
        let mut engine = Engine::load(&config).unwrap();
        assert_eq!(engine.voice_name(), "espeak-ng:en-us");
        let reason = engine.fallback_reason.clone().unwrap();
        assert!(reason.contains(expect), "{reason}");
        assert!(!engine.synthesize("Still talking.").unwrap().is_empty());
    }
    let good = Engine::load(&util::config_for(&util::fixtures().join("tiny-sine.onnx"), &ort)).unwrap();
    assert_eq!(good.voice_name(), "piper:tiny-sine");
    let bad_espeak = TtsConfig { espeak_voice: "xx-none".into(), ..util::config_for(&dir.path().join("none.onnx"), &ort) };
    assert!(Engine::load(&bad_espeak).is_err());
}

#[test]
fn the_real_joe_voice_speaks_a_reply_at_a_natural_pace() {
    let (Some(ort), Some(joe)) = (util::onnxruntime(), util::real_voice("en_US-joe-medium.onnx")) else { return };
    let mut engine = Engine::load(&util::config_for(&joe, &ort)).unwrap();
    assert_eq!(engine.fallback_reason, None);
    assert_eq!(engine.voice_name(), "piper:en_US-joe-medium");
    let rate = engine.sample_rate_hz() as f64;
    let short = engine.speak("Done.").unwrap();
    let long = engine.speak("I set a timer for ten minutes. I'll let you know when it's done.").unwrap();
    // About 2.5 to 4.5 words a second: a real voice, not the fixture's sine per phoneme.
    let long_s = long.len() as f64 / rate;
    assert!((2.5..=6.0).contains(&long_s), "{long_s:.2} s for 14 words");
    assert!(short.len() * 3 < long.len(), "one word is much shorter than two sentences");
    assert!(level_dbfs(&long) > -30.0, "speech, not silence");
}
