//! The audio service's durable state: the speaker volume, kept across restarts.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::AudioError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredState {
    /// Speaker volume, percent.
    pub volume: u8,
}

/// The stored state, or `None` when there is none yet or it cannot be read (logged).
pub fn load(path: &Path) -> Option<StoredState> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn!(path = %path.display(), error = %e, "cannot read the stored audio state");
            return None;
        }
    };
    match serde_json::from_str::<StoredState>(&text) {
        Ok(s) => Some(StoredState { volume: s.volume.min(100) }),
        Err(e) => {
            warn!(path = %path.display(), error = %e, "ignoring a damaged audio state file");
            None
        }
    }
}

/// Writes the state atomically (a temporary file renamed over the old one).
pub fn save(path: &Path, state: StoredState) -> Result<(), AudioError> {
    let io = |source| AudioError::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(&state).expect("plain struct serializes");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audio/state.json");
        assert_eq!(load(&path), None);
        save(&path, StoredState { volume: 42 }).unwrap();
        assert_eq!(load(&path), Some(StoredState { volume: 42 }));
        std::fs::write(&path, "{oops").unwrap();
        assert_eq!(load(&path), None);
    }
}
