//! The audio service's durable state: the speaker volume and the microphone mute, kept across
//! restarts of the service and of the machine.
//!
//! Privacy comes first: a muted microphone stays muted until someone unmutes it. So the mute is
//! stored before it is reported, and a state file that exists but cannot be read starts the service
//! muted (a user's "off" may be in it) rather than live.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tracing::{error, warn};

use crate::AudioError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredState {
    /// Speaker volume, percent; `None` until someone sets one (the config's volume applies).
    #[serde(default)]
    pub volume: Option<u8>,
    /// Whether the microphone is muted. Absent in files written before mute was stored: not muted.
    #[serde(default)]
    pub mic_muted: bool,
}

/// The stored state. No file yet: the defaults. A file that cannot be read or parsed: muted, with
/// an error in the log that says how to unmute.
pub fn load(path: &Path) -> StoredState {
    let unreadable = |why: String| {
        error!(path = %path.display(), %why, "cannot read the stored audio state; starting with the microphone muted (unmute it from Home Assistant or with `audio/mic/set`)");
        StoredState { volume: None, mic_muted: true }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return StoredState::default(),
        Err(e) => return unreadable(e.to_string()),
    };
    match serde_json::from_str::<StoredState>(&text) {
        Ok(s) => StoredState { volume: s.volume.map(|v| v.min(100)), mic_muted: s.mic_muted },
        Err(e) => unreadable(e.to_string()),
    }
}

/// Writes the state atomically: a temporary file, flushed to disk, renamed over the old one, so a
/// power cut leaves either the old or the new state.
pub fn save(path: &Path, state: StoredState) -> Result<(), AudioError> {
    use std::io::Write;
    let io = |source| AudioError::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(&state).expect("plain struct serializes");
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(text.as_bytes()).and_then(|_| file.sync_all()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Saves off the executor; a failure is logged (the change still applies until the next restart).
pub async fn save_in_background(path: Option<std::path::PathBuf>, state: StoredState) {
    let Some(path) = path else { return };
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || save(&path, state)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(path = %shown, error = %e, "cannot store the audio state; this change will not survive a restart"),
        Err(e) => warn!(path = %shown, error = %e, "storing the audio state failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_old_files_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audio/state.json");
        assert_eq!(load(&path), StoredState::default());
        let muted = StoredState { volume: Some(42), mic_muted: true };
        save(&path, muted).unwrap();
        assert_eq!(load(&path), muted);
        // A file from before the mute was stored.
        std::fs::write(&path, r#"{"volume":42}"#).unwrap();
        assert_eq!(load(&path), StoredState { volume: Some(42), mic_muted: false });
        // Damaged: the microphone starts muted.
        std::fs::write(&path, "{oops").unwrap();
        assert_eq!(load(&path), StoredState { volume: None, mic_muted: true });
    }
}
