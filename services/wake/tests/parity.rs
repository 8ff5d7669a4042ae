//! Parity with the reference Python package: the same model files, the same WAVs, the same starting
//! state; every 80 ms step's score within 0.02. Runs `fixtures/wake/oww_reference.py` with
//! `$HEARTH_PYTHON` (default python3); skips plainly when `openwakeword` is missing (fails under CI).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_wake::testkit::{self, detector_for, espeak, read_wav, silence, word_models};

const TOLERANCE: f32 = 0.02;

fn python() -> String {
    std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn has_openwakeword() -> bool {
    Command::new(python()).args(["-c", "import openwakeword, onnxruntime"]).output().is_ok_and(|o| o.status.success())
}

fn write_wav(path: &Path, samples: &[i16]) {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn scores_match_the_python_reference() {
    let (Some(dir), Some(lib), Some(shared)) = (testkit::real_oww_dir(), testkit::onnxruntime(), testkit::shared_dir()) else {
        return;
    };
    if !has_openwakeword() {
        testkit::skip::<()>("the Python module openwakeword is missing (pip install openwakeword onnxruntime)");
        return;
    }
    let Some(jarvis) = espeak("hey jarvis", "en-us", 150) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let pad = |s: Vec<i16>| [silence(1.0), s, silence(1.0)].concat();
    let clips: Vec<(PathBuf, Vec<i16>)> = [
        ("alexa.wav", pad(read_wav(&shared.join("audio/oww_alexa_test.wav")))),
        ("mycroft.wav", pad(read_wav(&shared.join("audio/oww_hey_mycroft_test.wav")))),
        ("jane.wav", pad(read_wav(&shared.join("audio/oww_hey_jane.wav")))),
        ("jfk.wav", read_wav(&shared.join("audio/jfk.wav"))),
        ("jarvis.wav", pad(jarvis)),
    ]
    .into_iter()
    .map(|(name, samples)| {
        let path = tmp.path().join(name);
        write_wav(&path, &samples);
        (path, samples)
    })
    .collect();

    let words = word_models(&dir);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/wake/oww_reference.py");
    let mut cmd = Command::new(python());
    cmd.arg(script).arg("scores").arg("--model-dir").arg(&dir);
    for w in &words {
        cmd.arg("--word").arg(w.model.file_name().unwrap());
    }
    cmd.args(clips.iter().map(|(p, _)| p));
    let out = cmd.output().expect("run the reference script");
    assert!(out.status.success(), "reference script failed: {}", String::from_utf8_lossy(&out.stderr));
    let reference: BTreeMap<String, BTreeMap<String, Vec<f32>>> = serde_json::from_slice(&out.stdout).unwrap();

    let mut detector = detector_for(&dir, &lib);
    let mut worst = 0.0f32;
    let mut peaks = Vec::new();
    for (path, samples) in &clips {
        detector.reset();
        let mut ours: Vec<Vec<f32>> = Vec::new();
        for frame in samples.chunks(320) {
            detector.process_with(frame, |_, s| ours.push(s.to_vec()));
        }
        let theirs = &reference[&path.display().to_string()];
        for (i, w) in words.iter().enumerate() {
            // The reference names a model by its file stem.
            let stem = w.model.file_stem().unwrap().to_string_lossy().into_owned();
            let expected = &theirs[&stem];
            assert_eq!(expected.len(), ours.len(), "{}: step count", path.display());
            for (step, (e, o)) in expected.iter().zip(&ours).enumerate() {
                let diff = (e - o[i]).abs();
                worst = worst.max(diff);
                assert!(diff <= TOLERANCE, "{} {stem} step {step}: python {e:.4}, hearth {:.4}", path.display(), o[i]);
            }
            peaks.push((path.file_name().unwrap().to_string_lossy().into_owned(), stem, expected.iter().copied().fold(0.0, f32::max)));
        }
    }
    eprintln!("largest step difference {worst:.5}; reference peaks {peaks:?}");
    // The comparison is meaningful only if the clips really exercised the words.
    assert!(peaks.iter().any(|(clip, word, p)| clip == "alexa.wav" && word.starts_with("alexa") && *p > 0.5));
    assert!(peaks.iter().any(|(clip, word, p)| clip == "jarvis.wav" && word.starts_with("hey_jarvis") && *p > 0.5));
}
