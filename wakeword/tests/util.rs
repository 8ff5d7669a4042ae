//! Shared helpers: where the real front end, ONNX Runtime and Piper voices are, and options for a
//! small, quick training run.

use std::path::{Path, PathBuf};

use hearth_wakeword::dataset::Sizes;
use hearth_wakeword::model::TrainSettings;
use hearth_wakeword::train::TrainOptions;
use hearth_wakeword::voices::Speaker;

/// The real openWakeWord front end and ONNX Runtime, or `None` (with the reason printed) when absent.
pub fn front_end() -> Option<(PathBuf, PathBuf)> {
    Some((hearth_wake::testkit::real_oww_dir()?, hearth_wake::testkit::onnxruntime()?))
}

/// Piper voices fetched by `scripts/fetch-real-models.sh`, when there.
pub fn piper_dirs() -> Vec<PathBuf> {
    let dir = hearth_tts::voices::real_models_piper_dir();
    if dir.is_dir() { vec![dir] } else { Vec::new() }
}

/// Where a test keeps features: `$HEARTH_WAKEWORD_TEST_CACHE` when set (reruns while developing reuse
/// them; the cache is keyed by everything that makes a clip), else inside the test's own temporary folder.
pub fn cache_dir(tmp: &Path) -> PathBuf {
    std::env::var_os("HEARTH_WAKEWORD_TEST_CACHE").map(PathBuf::from).unwrap_or_else(|| tmp.join("cache"))
}

/// Options for a run that takes a few minutes on two cores.
pub fn small_options(phrase: &str, out: &Path, cache: &Path, front: &Path, lib: &Path) -> TrainOptions {
    let piper = piper_dirs();
    let own_voice = piper.first().and_then(|d| {
        let model = d.join("en_US-joe-medium.onnx");
        model.is_file().then(|| Speaker::Piper { model, speaker_id: None, label: "en_US-joe-medium".into() })
    });
    TrainOptions {
        phrase: phrase.into(),
        out_dir: out.into(),
        front_end_dir: front.into(),
        onnxruntime: lib.into(),
        piper_dirs: piper,
        own_voice,
        recordings: None,
        cache_dir: cache.into(),
        sizes: Sizes::small(),
        settings: TrainSettings { epochs: 30, batch: 64, ..TrainSettings::default() },
        seed: 7,
        progress: false,
        threads: 2,
    }
}
