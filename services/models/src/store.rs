//! What is installed: the record of verified files (`<models_dir>/.hearth-models.json`) and the state
//! of each catalog file on disk.
//!
//! The record lets `list` and repeated pulls trust a file without hashing gigabytes again: a file whose
//! size and modification time still match its record is the file that was verified. It also keeps the
//! digests recorded on first download for files whose digest is not published (trust on first use).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::catalog::ModelFile;
use crate::download::part_path;
use crate::ModelsError;

/// File name of the record inside the models directory.
pub const RECORD_FILE: &str = ".hearth-models.json";

/// One verified file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// Lower-case hex sha256 of the file as verified.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time when verified, milliseconds since the Unix epoch.
    pub modified_ms: u64,
    /// True when no digest was published and this one was taken from the first download.
    pub trusted_on_first_use: bool,
    /// Where it came from.
    pub url: String,
}

/// The record of a models directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// By path relative to the models directory.
    pub files: BTreeMap<String, Recorded>,
}

impl Record {
    /// Reads the record; a missing one is empty, an unreadable one is ignored with a warning (files
    /// are then re-verified and the record rewritten).
    pub fn load(models_dir: &Path) -> Record {
        let path = models_dir.join(RECORD_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                warn!(path = %path.display(), %error, "ignoring unreadable model record; files will be verified again");
                Record::default()
            }),
            Err(_) => Record::default(),
        }
    }

    /// Writes the record atomically (temporary file, then rename).
    pub fn save(&self, models_dir: &Path) -> Result<(), ModelsError> {
        let path = models_dir.join(RECORD_FILE);
        let tmp = models_dir.join(format!("{RECORD_FILE}.tmp"));
        let io = |source| ModelsError::Io { path: path.clone(), source };
        let text = serde_json::to_vec_pretty(self).expect("the record always serialises");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Records `path` as verified with `sha256`, taking size and time from the file on disk.
    pub fn insert(&mut self, models_dir: &Path, file: &ModelFile, sha256: &str, trusted_on_first_use: bool) -> Result<(), ModelsError> {
        let full = models_dir.join(&file.path);
        let (size, modified_ms) = stat(&full).map_err(|source| ModelsError::Io { path: full.clone(), source })?;
        let recorded = Recorded { sha256: sha256.into(), size, modified_ms, trusted_on_first_use, url: file.url.clone() };
        self.files.insert(file.path.clone(), recorded);
        Ok(())
    }

    /// The digest a file must have: the published one, else the one recorded on first download.
    pub fn expected_sha256(&self, file: &ModelFile) -> Option<String> {
        file.sha256.clone().or_else(|| self.files.get(&file.path).filter(|r| r.trusted_on_first_use).map(|r| r.sha256.clone()))
    }
}

/// Size and modification time (ms since the epoch) of a file.
fn stat(path: &Path) -> std::io::Result<(u64, u64)> {
    let meta = std::fs::metadata(path)?;
    let modified = meta.modified()?.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    Ok((meta.len(), modified))
}

/// A catalog file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Not there; `partial` bytes wait in a `.part` for the next pull to resume.
    Missing { partial: Option<u64> },
    /// There and verified (or recorded on first use) and unchanged since.
    Verified { size: u64, sha256: String, trusted_on_first_use: bool },
    /// There but not verified, or changed since it was: the next pull checks it.
    Unchecked { size: u64 },
}

impl FileState {
    pub fn is_present(&self) -> bool {
        !matches!(self, FileState::Missing { .. })
    }
}

/// The state of `file` under `models_dir`, without hashing it.
pub fn state(models_dir: &Path, record: &Record, file: &ModelFile) -> FileState {
    let full = models_dir.join(&file.path);
    let Ok((size, modified_ms)) = stat(&full) else {
        let partial = std::fs::metadata(part_path(&full)).ok().map(|m| m.len());
        return FileState::Missing { partial };
    };
    match record.files.get(&file.path) {
        Some(r) if r.size == size
            && r.modified_ms == modified_ms
            && file.sha256.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(&r.sha256)) =>
        {
            FileState::Verified { size, sha256: r.sha256.clone(), trusted_on_first_use: r.trusted_on_first_use }
        }
        _ => FileState::Unchecked { size },
    }
}

/// Where a catalog file lives.
pub fn destination(models_dir: &Path, file: &ModelFile) -> PathBuf {
    models_dir.join(&file.path)
}
