//! The wake service's durable state: whether detection is switched on, per site, kept across
//! restarts of the service and of the machine in `<data_dir>/wake/state.json`.
//!
//! Privacy comes first: a site switched off stays off until someone switches it on. So a switch is
//! stored before it is reported, and a state file that exists but cannot be read starts every site
//! switched off (a user's "off" may be in it) rather than listening, then and after later restarts, until
//! each site is switched on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::{error, warn};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredWake {
    /// Site → detection switched on there. Sites not listed follow `[wake] enabled`.
    #[serde(default)]
    pub enabled: BTreeMap<String, bool>,
    /// Set once a file could not be read: sites not listed are off (a user's "off" for them may have
    /// been in the lost file), and it is stored so that this holds after the next restart too.
    #[serde(default)]
    pub unlisted_off: bool,
}

impl StoredWake {
    /// Whether detection is on at `site`, given the configured default.
    pub fn enabled_at(&self, site: &str, default: bool) -> bool {
        self.enabled.get(site).copied().unwrap_or(default && !self.unlisted_off)
    }
}

/// `<data_dir>/wake/state.json`.
pub fn state_path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("wake").join("state.json")
}

/// The stored switches. No file yet: none stored. A file that cannot be read or parsed: every site
/// off, with an error in the log that says how to switch detection on again.
pub fn load(path: &Path) -> StoredWake {
    let unreadable = |why: String| {
        error!(path = %path.display(), %why, "cannot read the stored wake word switches; detection starts switched off (switch it on from Home Assistant or with `wake/set`)");
        StoredWake { enabled: BTreeMap::new(), unlisted_off: true }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return StoredWake::default(),
        Err(e) => return unreadable(e.to_string()),
    };
    serde_json::from_str::<StoredWake>(&text).unwrap_or_else(|e| unreadable(e.to_string()))
}

/// Writes the switches atomically: a temporary file, flushed to disk, renamed over the old one.
pub fn save(path: &Path, state: &StoredWake) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(state).expect("plain struct serializes");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Saves off the executor; a failure is logged (the switch still applies until the next restart).
pub async fn save_in_background(path: Option<PathBuf>, state: StoredWake) {
    let Some(path) = path else { return };
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || save(&path, &state)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(path = %shown, error = %e, "cannot store the wake word switch; it will not survive a restart"),
        Err(e) => warn!(path = %shown, error = %e, "storing the wake word switch failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_defaults_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path_in(dir.path());
        let none = load(&path);
        assert!(none.enabled_at("kitchen", true) && !none.enabled_at("kitchen", false));
        let mut s = StoredWake::default();
        s.enabled.insert("kitchen".into(), false);
        save(&path, &s).unwrap();
        let back = load(&path);
        assert_eq!(back, s);
        assert!(!back.enabled_at("kitchen", true) && back.enabled_at("hall", true));
        std::fs::write(&path, "{oops").unwrap();
        let mut damaged = load(&path);
        assert!(!damaged.enabled_at("kitchen", true) && !damaged.enabled_at("hall", true));
        // Switching one site on after that leaves the others off across the next restart.
        damaged.enabled.insert("kitchen".into(), true);
        save(&path, &damaged).unwrap();
        let back = load(&path);
        assert!(back.enabled_at("kitchen", true) && !back.enabled_at("hall", true));
    }
}
