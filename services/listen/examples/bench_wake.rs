//! Thin entry for `hearth bench wake` until the CLI wires it:
//!
//!     cargo run --release -p hearth-listen --example bench_wake -- [MODELS_DIR] [WAV] [SECONDS]
//!
//! MODELS_DIR holds `openwakeword/` and `silero-vad/` (default `$HEARTH_SHARED/models`); WAV defaults to
//! `$HEARTH_SHARED/audio/jfk.wav`. The Python column uses `$HEARTH_PYTHON` (default python3).

use std::path::PathBuf;

use hearth_listen::bench::{bench_wake, BenchOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shared = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let mut args = std::env::args().skip(1);
    let models = args.next().map(PathBuf::from).unwrap_or_else(|| shared.join("models"));
    let audio = args.next().map(PathBuf::from).unwrap_or_else(|| shared.join("audio/jfk.wav"));
    let seconds: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(60.0);
    let oww_dir = models.join("openwakeword");
    let words = ["hey_jarvis_v0.1.onnx", "alexa_v0.1.onnx", "hey_mycroft_v0.1.onnx"].iter().map(|w| oww_dir.join(w)).collect();
    let options = BenchOptions {
        oww_dir,
        words,
        vad_model: models.join("silero-vad/silero_vad.onnx"),
        onnxruntime: hearth_wake::onnx::library_path(None, &hearth_node::config::default_data_dir()),
        audio,
        seconds,
        python: Some(std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into())),
        reference_script: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/wake/oww_reference.py")),
    };
    let report = bench_wake(&options)?;
    print!("{report}");
    Ok(())
}
