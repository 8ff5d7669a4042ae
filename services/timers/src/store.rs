//! Durable timer storage: one JSON file, replaced atomically on every change so a power cut leaves
//! either the old or the new list, never half of one. Due times are absolute (Unix milliseconds), so
//! a timer survives restarts of the service and of the machine.

use std::io::Write;
use std::path::{Path, PathBuf};

use hearth_bus::timer::Timer;
use serde::{Deserialize, Serialize};

use crate::TimersError;

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredTimers {
    timers: Vec<Timer>,
}

/// The timers file.
#[derive(Debug, Clone)]
pub struct TimerStore {
    path: PathBuf,
}

impl TimerStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the saved timers; a missing file is an empty list. A corrupt file is set aside (renamed
    /// with `.corrupt`) and reported, so one bad write cannot stop timers working.
    pub fn load(&self) -> Result<Vec<Timer>, TimersError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(TimersError::Store { path: self.path.clone(), source }),
        };
        match serde_json::from_str::<StoredTimers>(&text) {
            Ok(s) => Ok(s.timers),
            Err(error) => {
                let aside = self.path.with_extension("json.corrupt");
                tracing::error!(path = %self.path.display(), %error, aside = %aside.display(), "timers file is corrupt; starting empty");
                let _ = std::fs::rename(&self.path, &aside);
                Ok(Vec::new())
            }
        }
    }

    /// Replaces the saved timers: write a temporary file, flush it to disk, rename over the old one.
    pub fn save(&self, timers: &[Timer]) -> Result<(), TimersError> {
        let err = |source| TimersError::Store { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(&StoredTimers { timers: timers.to_vec() }).expect("timers serialize");
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&body).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(id: &str) -> Timer {
        Timer { id: id.into(), name: None, site: "default".into(), duration_ms: 1000, due_at_ms: 5, created_at_ms: 4 }
    }

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let store = TimerStore::new(dir.path().join("sub/timers.json"));
        assert!(store.load().unwrap().is_empty());
        store.save(&[timer("a"), timer("b")]).unwrap();
        assert_eq!(store.load().unwrap().len(), 2);
    }

    #[test]
    fn corrupt_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = TimerStore::new(dir.path().join("timers.json"));
        std::fs::write(store.path(), "{garbage").unwrap();
        assert!(store.load().unwrap().is_empty());
        assert!(dir.path().join("timers.json.corrupt").exists());
    }
}
