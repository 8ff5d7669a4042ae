//! Whole voice turns through `hearth up`, as a user would run it on a machine with no sound card: speech
//! made with espeak-ng goes into a stdin microphone in real time, replies land in a WAV speaker, and every
//! bus message is stamped on arrival so each stage boundary of a turn can be timed. The integration
//! tests assert on the turns; `hearth bench e2e` reports their timings.
//!
//! - [`rig`]: starts `hearth up` with generated config, linked models and a local Open-Meteo.
//! - [`mic`]: the real-time microphone pipe.
//! - [`recorder`]: every bus message with its arrival time.
//! - [`turn`]: one turn, followed from wake word to last audio chunk.
//! - [`speech`]: espeak-ng speech, sox noise, WAV files.
//! - [`procs`]: memory, CPU and descriptors of `hearth up`'s processes, from `/proc`.
//! - [`soak`]: `hearth bench soak`, hours of listening with restarts.

pub mod mic;
pub mod procs;
pub mod recorder;
pub mod rig;
pub mod soak;
pub mod speech;
pub mod turn;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

pub use rig::{Rig, RigOptions, Voice};
pub use turn::{StageTimes, TurnReport};

/// The repository's `fixtures/` folder (generator scripts and small test models).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

/// `$HEARTH_SHARED`, else `../shared` beside the repository: the real small models and recordings.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// The Python that runs the fixture generators: `$HEARTH_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Writes a whisper.cpp model that hears `phrase` in any audio (`fixtures/whisper/make_phrase.py`), in the
/// tiny test width (`fixture`) or tiny.en's exact shape (`tiny.en`, realistic compute).
pub fn phrase_whisper(phrase: &str, shape: &str, out: &Path) -> anyhow::Result<()> {
    let script = fixtures_dir().join("whisper/make_phrase.py");
    let output = Command::new(python())
        .arg(&script)
        .args(["--phrase", phrase, "--shape", shape])
        .arg(out)
        .output()
        .with_context(|| format!("cannot run {} (set HEARTH_PYTHON)", python()))?;
    if !output.status.success() {
        bail!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
