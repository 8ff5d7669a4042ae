//! Phoneme ids of the real voice en_US-joe-medium against piper-tts, on the same espeak-ng data.
//!
//! Its own test binary: espeak-ng is one per process, and this one starts it on piper-tts's bundled
//! espeak-ng-data (what the voice was trained with) instead of the system's. With the same data the ids
//! must be identical for every assistant reply in the bench set; the remaining differences of the
//! system's espeak-ng 1.51 data are measured by `hearth bench tts`.

use std::path::PathBuf;
use std::process::Command;

use hearth_tts::bench::{compare_ids, default_paragraphs, ID_SENTENCES};
use hearth_tts::espeak::Espeak;
use hearth_tts::phonemes::VoiceConfig;

fn skip<T>(why: &str) -> Option<T> {
    assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "{why} (required under CI=true)");
    println!("skipping: {why}");
    None
}

/// `HEARTH_PYTHON` with piper-tts, and the directory holding piper-tts's `espeak-ng-data`.
fn piper_tts() -> Option<(String, PathBuf)> {
    let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-c", "from piper.phonemize_espeak import ESPEAK_DATA_DIR; print(ESPEAK_DATA_DIR.parent)"])
        .output();
    match out {
        Ok(o) if o.status.success() => Some((python, PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))),
        _ => skip(&format!("{python} has no piper-tts module (pip install piper-tts)")),
    }
}

#[test]
fn joe_phoneme_ids_are_piper_tts_ids_on_the_same_espeak_data() {
    let voice = hearth_tts::voices::real_models_piper_dir().join("en_US-joe-medium.onnx");
    let json = PathBuf::from(format!("{}.json", voice.display()));
    if !json.is_file() {
        skip::<()>(&format!("the real Piper voice is not at {} (run scripts/fetch-real-models.sh)", voice.display()));
        return;
    }
    let Some((python, data)) = piper_tts() else { return };
    let espeak = Espeak::global(Some(&data)).unwrap();
    let config = VoiceConfig::from_file(&json).unwrap();
    let paragraphs = default_paragraphs();
    let texts: Vec<&str> = paragraphs.iter().map(String::as_str).chain(ID_SENTENCES.iter().copied()).collect();
    assert!(texts.len() >= 15);
    let agreement = compare_ids(&python, &json, &config, &espeak, &texts).unwrap();
    println!(
        "joe: ids identical to piper-tts {}/{} (piper-tts {}; hearth espeak-ng {} on {})",
        agreement.identical,
        agreement.total,
        agreement.reference,
        agreement.ours,
        data.display()
    );
    assert!(agreement.differing.is_empty(), "ids differ from piper-tts for {:?}", agreement.differing);
}
