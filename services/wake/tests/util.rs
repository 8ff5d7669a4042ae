//! Shared helpers for the wake tests.

use std::path::PathBuf;

use hearth_wake::detector::{DetectorSpec, WakeDetector, WordSpec};
use hearth_wake::testkit;

/// The stand-in openWakeWord directory.
pub fn standin_dir() -> PathBuf {
    testkit::standin_models_dir().join("openwakeword")
}

pub fn word(dir: &std::path::Path, file: &str, name: &str) -> WordSpec {
    WordSpec { name: name.into(), model: dir.join(file), threshold: 0.5, patience: 1, refractory_ms: 2000 }
}

/// A detector on the stand-in models with the given words.
pub fn standin_detector(words: Vec<WordSpec>) -> Option<WakeDetector> {
    let lib = testkit::onnxruntime()?;
    Some(WakeDetector::new(&DetectorSpec::in_dir(&standin_dir(), words, lib)).expect("stand-in detector"))
}

/// Feeds `samples` in chunks of `chunk` and returns every step's scores and the detections.
pub fn run(detector: &mut WakeDetector, samples: &[i16], chunk: usize) -> (Vec<Vec<f32>>, Vec<hearth_wake::Detection>) {
    let mut steps = Vec::new();
    let mut detections = Vec::new();
    for part in samples.chunks(chunk) {
        detections.extend(detector.process_with(part, |_, s| steps.push(s.to_vec())));
    }
    (steps, detections)
}

pub fn concat(parts: &[&[i16]]) -> Vec<i16> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}
