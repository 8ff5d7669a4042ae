//! Finding a Piper voice by what a user types: a path to a `.onnx`, a full voice name
//! (`en_US-joe-medium`) or a unique part of one (`joe`), looked up in a list of directories.

use std::path::{Path, PathBuf};

use crate::TtsError;

/// Resolves `wanted` to a voice model (`.onnx` with its `.onnx.json` beside it) in `dirs`, in order.
pub fn find_voice(wanted: &str, dirs: &[PathBuf]) -> Result<PathBuf, TtsError> {
    let as_path = Path::new(wanted);
    if wanted.ends_with(".onnx") || wanted.contains('/') {
        return if as_path.is_file() {
            Ok(as_path.to_path_buf())
        } else {
            Err(TtsError::Voice(format!("no voice file at {wanted}")))
        };
    }
    for dir in dirs {
        let exact = dir.join(format!("{wanted}.onnx"));
        if exact.is_file() {
            return Ok(exact);
        }
        let mut partial: Vec<PathBuf> = voices_in(dir).into_iter().filter(|p| stem(p).contains(wanted)).collect();
        partial.sort();
        match partial.len() {
            0 => continue,
            1 => return Ok(partial.remove(0)),
            _ => {
                let names: Vec<String> = partial.iter().map(|p| stem(p)).collect();
                return Err(TtsError::Voice(format!("`{wanted}` matches several voices in {}: {}", dir.display(), names.join(", "))));
            }
        }
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(TtsError::Voice(format!(
        "no Piper voice `{wanted}` in {} — `hearth models pull piper-<voice>` installs one, or give the .onnx path",
        looked.join(", ")
    )))
}

/// The `.onnx` voices in `dir` (those with their `.onnx.json` beside them).
pub fn voices_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "onnx") && PathBuf::from(format!("{}.json", p.display())).is_file())
        .collect()
}

fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Where real voices fetched for tests and benchmarks live: `$HEARTH_CACHE/real-models/piper`
/// (`HEARTH_CACHE` defaults to `~/.cache/hearth`), as `scripts/fetch-real-models.sh` leaves them.
pub fn real_models_piper_dir() -> PathBuf {
    let cache = std::env::var_os("HEARTH_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
        home.join(".cache/hearth")
    });
    cache.join("real-models/piper")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_voices_by_path_name_and_part_of_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        for name in ["en_US-joe-medium", "en_US-lessac-medium", "en_GB-alan-low"] {
            std::fs::write(d.join(format!("{name}.onnx")), b"x").unwrap();
            std::fs::write(d.join(format!("{name}.onnx.json")), b"{}").unwrap();
        }
        std::fs::write(d.join("en_US-orphan-low.onnx"), b"x").unwrap(); // no .json: not a voice
        let dirs = vec![d.join("empty"), d.clone()];
        assert_eq!(find_voice("joe", &dirs).unwrap(), d.join("en_US-joe-medium.onnx"));
        assert_eq!(find_voice("en_GB-alan-low", &dirs).unwrap(), d.join("en_GB-alan-low.onnx"));
        let path = d.join("en_US-lessac-medium.onnx");
        assert_eq!(find_voice(path.to_str().unwrap(), &dirs).unwrap(), path);
        let several = find_voice("medium", &dirs).unwrap_err().to_string();
        assert!(several.contains("en_US-joe-medium") && several.contains("en_US-lessac-medium"), "{several}");
        assert!(find_voice("orphan", &dirs).unwrap_err().to_string().contains("no Piper voice `orphan`"));
        assert!(find_voice("/nowhere/x.onnx", &dirs).unwrap_err().to_string().contains("/nowhere/x.onnx"));
    }
}
