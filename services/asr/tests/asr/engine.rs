//! The recogniser on real whisper.cpp, without the bus.

use std::process::Command;

use hearth_asr::audio::{pad_to_min, to_whisper_input};
use hearth_asr::engine::{DecodeOptions, EngineError, Recognizer};
use hearth_asr::filter::{classify, Heard};

use crate::util::{hello_world_model, pcm, shared_dir};

fn options() -> DecodeOptions {
    DecodeOptions { threads: 2, ..DecodeOptions::default() }
}

fn audio(seconds: f32) -> Vec<f32> {
    pad_to_min(to_whisper_input(&pcm(seconds, 16_000, 1), 16_000, 1).unwrap())
}

#[test]
fn hello_world_model_transcribes_greedy_and_beam_with_any_context() {
    let mut r = Recognizer::load(&hello_world_model(), "whisper-tiny.en", options()).unwrap();
    assert!(r.summary().has_weights());
    for (beam_size, scale_audio_ctx, seconds) in [(1, true, 2.0), (1, false, 2.0), (5, true, 0.3), (5, false, 12.0)] {
        r.set_options(DecodeOptions { beam_size, scale_audio_ctx, ..options() });
        let rec = r.transcribe(&audio(seconds)).unwrap();
        assert_eq!(rec.text, " hello world", "beam {beam_size}, scaled {scale_audio_ctx}, {seconds} s");
        assert_eq!(classify(&rec.text), Heard::Speech("hello world".into()));
        let expected_ctx = if scale_audio_ctx { 384 } else { 1500 };
        assert_eq!(rec.audio_ctx, expected_ctx);
    }
}

/// `make_phrase.py` scripts any phrase, in the fixture's width and in tiny.en's exact shape (what
/// `hearth bench e2e` and the whole-turn tests use); `None` when Python is missing outside CI.
fn phrase_model(phrase: &str, shape: &str, out: &std::path::Path) -> Option<()> {
    let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/whisper/make_phrase.py");
    match Command::new(&python).arg(script).args(["--phrase", phrase, "--shape", shape]).arg(out).output() {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => panic!("{script} failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("cannot run {python}: {e}"),
        Err(e) => {
            eprintln!("skipping: cannot run {python} ({e}); set HEARTH_PYTHON");
            None
        }
    }
}

#[test]
fn phrase_models_hear_their_phrase_in_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = "set a timer for the the pasta in ten minutes";
    for shape in ["fixture", "tiny.en"] {
        let path = dir.path().join(format!("{shape}.bin"));
        let Some(()) = phrase_model(phrase, shape, &path) else { return };
        let mut r = Recognizer::load(&path, "whisper-tiny.en", options()).unwrap();
        let rec = r.transcribe(&audio(3.0)).unwrap();
        assert_eq!(rec.text.trim(), phrase, "{shape}");
    }
}

#[test]
fn whisper_cpp_test_file_loads_and_hears_nothing() {
    let Some(shared) = shared_dir() else { return };
    let path = shared.join("models/for-tests-ggml-tiny.en.bin");
    let mut r = Recognizer::load(&path, "whisper-tiny.en", options()).unwrap();
    assert!(!r.summary().has_weights());
    let rec = r.transcribe(&audio(2.0)).unwrap();
    assert_eq!(classify(&rec.text), Heard::Empty, "text {:?}", rec.text);
}

#[test]
fn broken_files_are_clear_errors_naming_the_file_and_the_fix() {
    let good = std::fs::read(hello_world_model()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("half.bin", good[..good.len() / 2].to_vec()),
        ("one-byte-short.bin", good[..good.len() - 1].to_vec()),
        ("header-only.bin", good[..30].to_vec()),
        ("empty.bin", Vec::new()),
        ("html.bin", b"<html>404 Not Found</html>".to_vec()),
        ("bad-ftype.bin", {
            let mut b = good.clone();
            b[44..48].copy_from_slice(&77i32.to_le_bytes()); // ftype: whisper.cpp would abort()
            b
        }),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = Recognizer::load(&path, "whisper-tiny.en", options()).err().expect(name);
        assert!(matches!(err, EngineError::Corrupt { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()) && msg.contains("hearth models pull whisper-tiny.en"), "{msg}");
    }
    let missing = dir.path().join("nope.bin");
    let msg = Recognizer::load(&missing, "whisper-tiny.en", options()).err().unwrap().to_string();
    assert!(msg.contains("nope.bin") && msg.contains("not found") && msg.contains("hearth models pull whisper-tiny.en"), "{msg}");
}

#[test]
fn english_only_models_refuse_other_languages() {
    let o = DecodeOptions { language: "de".into(), ..options() };
    let err = Recognizer::load(&hello_world_model(), "whisper-tiny.en", o).err().unwrap();
    assert!(matches!(err, EngineError::Language { .. }), "{err}");
    let o = DecodeOptions { language: "auto".into(), ..options() };
    assert_eq!(Recognizer::load(&hello_world_model(), "whisper-tiny.en", o).unwrap().options().language, "en");
}

/// The committed fixture is exactly what its script writes.
#[test]
fn fixture_matches_its_script() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.bin");
    let Some(()) = phrase_model("hello world", "fixture", &out) else { return };
    assert!(std::fs::read(out).unwrap() == std::fs::read(hello_world_model()).unwrap(), "regenerate the fixture");
}
