//! Bad inputs fail early with errors that say what is wrong and how to fix it.

use hearth_wakeword::audio;
use hearth_wakeword::dataset::Sizes;
use hearth_wakeword::train::{self, TrainOptions};
use hearth_wakeword::WakewordError;

use crate::util::small_options;

fn options(dir: &std::path::Path) -> TrainOptions {
    small_options("ok computer", &dir.join("out"), &dir.join("cache"), &dir.join("front"), &dir.join("libonnxruntime.so"))
}

#[test]
fn an_empty_phrase_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for phrase in ["", "   ", "?!"] {
        let opts = TrainOptions { phrase: phrase.into(), ..options(dir.path()) };
        let err = train::train(&opts).unwrap_err();
        assert!(matches!(err, WakewordError::BadPhrase(_)), "{err}");
        assert!(err.to_string().contains("no words"), "{err}");
    }
}

#[test]
fn no_voices_installed_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = Sizes { espeak_speakers: 0, ..Sizes::small() };
    let err = train::speakers(&[dir.path().join("no-voices-here")], &sizes).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, WakewordError::NoVoices(_)), "{text}");
    assert!(text.contains("hearth models pull") && text.contains("no-voices-here"), "{text}");
    // Through the whole command too, before any synthesis starts.
    let opts = TrainOptions { piper_dirs: vec![dir.path().join("none")], sizes, ..options(dir.path()) };
    assert!(matches!(train::train(&opts), Err(WakewordError::NoVoices(_))));
}

#[test]
fn silent_recordings_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    std::fs::create_dir_all(rec.join("phrase")).unwrap();
    audio::write_wav(&rec.join("phrase/take-001.wav"), &vec![0.0; 16000]).unwrap();
    let opts = TrainOptions { recordings: Some(rec.clone()), ..options(dir.path()) };
    let err = train::train(&opts).unwrap_err().to_string();
    assert!(err.contains("take-001.wav") && err.contains("silent"), "{err}");
    // A missing folder says which command makes one.
    let opts = TrainOptions { recordings: Some(dir.path().join("nothing")), ..options(dir.path()) };
    assert!(train::train(&opts).unwrap_err().to_string().contains("hearth wakeword record"));
}
