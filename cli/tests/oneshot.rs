//! The one-shot commands through the real `hearth` binary: `speak` into a WAV, `wake score` on it and on
//! real recordings, and `doctor` on a fresh install.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Prints why a test is skipped; under CI=true a missing prerequisite fails instead.
fn skip<T>(why: &str) -> Option<T> {
    assert!(!in_ci(), "{why} (required under CI=true)");
    println!("skipping: {why}");
    None
}

/// `hearth ARGS` with a config of its own in `dir` (data and models under `dir`).
fn hearth(dir: &Path, args: &[&str]) -> Output {
    let config = dir.join("hearth.toml");
    if !config.exists() {
        std::fs::write(&config, format!("data_dir = \"{}\"\n[bus]\nhost = \"127.0.0.1\"\nport = 1\n", dir.display())).unwrap();
    }
    Command::new(env!("CARGO_BIN_EXE_hearth")).arg("--config").arg(&config).args(args).output().expect("run hearth")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if dir.join("models/openwakeword/melspectrogram.onnx").is_file() {
        Some(dir)
    } else {
        skip("../shared/models/openwakeword not found (set HEARTH_SHARED)")
    }
}

fn onnxruntime_present() -> bool {
    if std::env::var_os("ORT_DYLIB_PATH").is_some_and(|p| Path::new(&p).is_file()) {
        return true;
    }
    skip::<()>("ORT_DYLIB_PATH does not name the ONNX Runtime library (scripts/install-onnxruntime.sh)");
    false
}

/// Per-word lines of `wake score`: (word, max score, detections text).
fn scores(out: &str) -> Vec<(String, f32, String)> {
    out.lines()
        .skip_while(|l| !l.starts_with("word"))
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let word = parts.next()?.to_string();
            let score = parts.next()?.parse().ok()?;
            let _at = parts.next()?;
            Some((word, score, parts.collect::<Vec<_>>().join(" ")))
        })
        .collect()
}

#[test]
fn speak_writes_a_wav_that_wake_score_reads() {
    let Some(shared) = shared() else { return };
    if !onnxruntime_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("reply.wav");
    let wav_arg = wav.to_str().unwrap();
    let o = hearth(dir.path(), &["speak", "I set a timer for ten minutes.", "-o", wav_arg, "--voice", "espeak-ng"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("voice espeak-ng:en-us"), "{}", text(&o));
    let reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
    let seconds = reader.duration() as f64 / spec.sample_rate as f64;
    assert!((1.0..6.0).contains(&seconds), "{seconds} s");

    // Any rate goes in; every shipped word is scored; an ordinary reply wakes nothing.
    let models = shared.join("models/openwakeword");
    let o = hearth(dir.path(), &["wake", "score", wav_arg, "--all-words", "--models", models.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let found = scores(&text(&o));
    let words: Vec<&str> = found.iter().map(|(w, _, _)| w.as_str()).collect();
    assert_eq!(words, ["alexa", "hey_jarvis", "hey_mycroft"], "{}", text(&o));
    assert!(found.iter().all(|(_, s, d)| *s < 0.5 && d == "none"), "{}", text(&o));

    // A real recording of the word is detected, with its time.
    let alexa = shared.join("audio/oww_alexa_test.wav");
    let o = hearth(dir.path(), &["wake", "score", alexa.to_str().unwrap(), "--word", "alexa", "--models", models.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let found = scores(&text(&o));
    assert_eq!(found.len(), 1, "{}", text(&o));
    assert!(found[0].1 >= 0.5 && found[0].2 != "none", "{}", text(&o));

    // A voice that is not installed is an error that says where it looked, not a silent fallback.
    let o = hearth(dir.path(), &["speak", "hello", "-o", wav_arg, "--voice", "no-such-voice"]);
    assert!(!o.status.success() && text(&o).contains("no Piper voice `no-such-voice`"), "{}", text(&o));
}

#[test]
fn speak_with_the_real_joe_voice() {
    let path = std::env::var_os("HEARTH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/hearth"))
        .join("real-models/piper/en_US-joe-medium.onnx");
    if !path.is_file() {
        skip::<()>(&format!("the real Piper voice is not at {} (run scripts/fetch-real-models.sh)", path.display()));
        return;
    }
    if !onnxruntime_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("joe.wav");
    let o = hearth(dir.path(), &["speak", "It's seven fifteen.", "-o", wav.to_str().unwrap(), "--voice", "joe"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("voice piper:en_US-joe-medium"), "{}", text(&o));
    assert_eq!(hound::WavReader::open(&wav).unwrap().spec().sample_rate, 22_050);
}

/// `hearth doctor` on a fresh install (a config with no service tables, no models) must not pass: it
/// checks what `hearth up` starts, which is every service, and names each missing model's pull command.
#[test]
fn doctor_on_a_fresh_install_names_every_missing_model() {
    let dir = tempfile::tempdir().unwrap();
    let o = hearth(dir.path(), &["doctor"]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(!out.contains("All checks passed"), "{out}");
    assert!(out.contains("what `hearth up` starts"), "{out}");
    for pull in ["whisper-tiny.en", "qwen3-4b-instruct", "piper-en_US-lessac-medium", "openwakeword", "silero-vad"] {
        assert!(out.contains(&format!("fix: hearth models pull {pull}")), "no pull command for {pull}:\n{out}");
    }
}
