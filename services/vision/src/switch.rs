//! The camera's off switch, kept across restarts of the service and of the machine in
//! `<data_dir>/camera/state.json`.
//!
//! Privacy comes first: a camera switched off stays off until someone switches it on. So the switch is
//! stored before it is reported, and a state file that exists but cannot be read starts the camera switched
//! off (the user's "off" may be in it) rather than taking pictures.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::{error, warn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSwitch {
    /// The camera may take pictures.
    pub enabled: bool,
}

impl Default for StoredSwitch {
    fn default() -> Self {
        StoredSwitch { enabled: true }
    }
}

/// `<data_dir>/camera/state.json`.
pub fn state_path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("camera").join("state.json")
}

/// The stored switch. No file yet: on. A file that cannot be read or parsed: off, with an error in the log
/// that says how to switch the camera on again.
pub fn load(path: &Path) -> StoredSwitch {
    let unreadable = |why: String| {
        error!(path = %path.display(), %why, "cannot read the stored camera switch; the camera starts switched off (switch it on from Home Assistant or with `camera/enabled/set`)");
        StoredSwitch { enabled: false }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return StoredSwitch::default(),
        Err(e) => return unreadable(e.to_string()),
    };
    serde_json::from_str::<StoredSwitch>(&text).unwrap_or_else(|e| unreadable(e.to_string()))
}

/// Writes the switch atomically: a temporary file, flushed to disk, renamed over the old one.
pub fn save(path: &Path, state: StoredSwitch) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(&state).expect("plain struct serializes");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Saves off the executor; a failure is logged (the switch still applies until the next restart).
pub async fn save_in_background(path: Option<PathBuf>, state: StoredSwitch) {
    let Some(path) = path else { return };
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || save(&path, state)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(path = %shown, error = %e, "cannot store the camera switch; it will not survive a restart"),
        Err(e) => warn!(path = %shown, error = %e, "storing the camera switch failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_default_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path_in(dir.path());
        assert!(load(&path).enabled, "never switched: on");
        save(&path, StoredSwitch { enabled: false }).unwrap();
        assert!(!load(&path).enabled);
        save(&path, StoredSwitch { enabled: true }).unwrap();
        assert!(load(&path).enabled);
        std::fs::write(&path, "{oops").unwrap();
        assert!(!load(&path).enabled, "a damaged file may have held an off: off");
    }
}
