//! Hearth's model manager, behind `hearth models pull [NAME…]` and `hearth models list`.
//!
//! Models come from their public homes (Hugging Face, GitHub releases), never bundled. A pull writes
//! each file to `<file>.part`, resumes it with an HTTP Range request after an interruption, checks its
//! size and sha256, and only then renames it into place, so an engine never sees a half-written model.
//! Files without a published digest are recorded on first download (trust on first use), and `list`
//! says so.
//!
//! # Layout
//! - [`catalog`]: the default models, their URLs, sizes, digests and licences.
//! - [`download`]: one file: resumable, verified, atomic.
//! - [`store`]: what is installed, and the record of verified files.
//! - [`progress`]: progress events and a terminal progress bar.
//! - [`listing`]: the `list` report.
//! - [`faster_whisper`]: `import faster-whisper`, a CTranslate2 whisper model to whisper.cpp's ggml file.

pub mod catalog;
pub mod download;
pub mod faster_whisper;
pub mod listing;
pub mod progress;
pub mod store;

use std::path::{Path, PathBuf};

use thiserror::Error;
use tracing::{debug, warn};

pub use catalog::{catalog, Model, ModelFile};
pub use download::PullOptions;
pub use listing::{list, list_with, render, Listing};
pub use progress::{Progress, TerminalProgress};
pub use store::{FileState, Record};

#[derive(Debug, Error)]
pub enum ModelsError {
    #[error("no model called `{name}`; known models: {known}")]
    UnknownModel { name: String, known: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot set up the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("cannot reach {host}: no network? ({reason})")]
    Unreachable { host: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("{url} answered a web page ({content_type}) instead of the file")]
    NotAFile { url: String, content_type: String },
    #[error("{url} answered a different range ({got:?}) than asked (from byte {asked})")]
    BadRange { url: String, asked: u64, got: String },
    #[error("{url} says the partial download is already past the end of the file")]
    RangeNotSatisfiable { url: String },
    #[error("download of {url} interrupted after {attempts} tries ({message}); what arrived is kept in {} and the next pull resumes it", part.display())]
    Interrupted { url: String, part: PathBuf, attempts: u32, message: String },
    #[error("download of {url} failed after {attempts} tries before any data arrived ({message})")]
    NothingArrived { url: String, attempts: u32, message: String },
    #[error("{url} is {actual} bytes, expected {expected}; the download was discarded")]
    SizeMismatch { url: String, expected: u64, actual: u64 },
    #[error("{url} has sha256 {actual}, expected {expected}; the download was discarded")]
    ChecksumMismatch { url: String, expected: String, actual: String },
}

/// The models named, in catalog order: none means the default set, `all` means every model.
pub fn select<'a>(catalog: &'a [Model], names: &[String]) -> Result<Vec<&'a Model>, ModelsError> {
    if names.is_empty() {
        return Ok(catalog.iter().filter(|m| m.default).collect());
    }
    if names.iter().any(|n| n.eq_ignore_ascii_case("all")) {
        return Ok(catalog.iter().collect());
    }
    for name in names {
        if !catalog.iter().any(|m| m.name.eq_ignore_ascii_case(name)) {
            let known = catalog.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(ModelsError::UnknownModel { name: name.clone(), known });
        }
    }
    Ok(catalog.iter().filter(|m| names.iter().any(|n| m.name.eq_ignore_ascii_case(n))).collect())
}

/// One file a pull left in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub model: String,
    pub path: PathBuf,
    pub sha256: String,
    /// False when it was already installed and verified.
    pub downloaded: bool,
    pub trusted_on_first_use: bool,
}

/// What a pull did. Models that failed are listed with their error; the others are still pulled.
#[derive(Debug, Default)]
pub struct PullReport {
    pub pulled: Vec<Pulled>,
    pub failed: Vec<(String, ModelsError)>,
}

impl PullReport {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Pulls the named models of the built-in catalog (the default set when `names` is empty) into
/// `models_dir`, reporting progress to `progress`.
pub async fn pull(models_dir: &Path, names: &[String], progress: &mut dyn FnMut(&Progress)) -> Result<PullReport, ModelsError> {
    pull_with(&catalog(), models_dir, names, &PullOptions::default(), progress).await
}

/// [`pull`] from any catalog, with explicit options.
pub async fn pull_with(
    catalog: &[Model],
    models_dir: &Path,
    names: &[String],
    options: &PullOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<PullReport, ModelsError> {
    let models = select(catalog, names)?;
    std::fs::create_dir_all(models_dir).map_err(|source| ModelsError::Io { path: models_dir.into(), source })?;
    let client = download::client(options)?;
    let mut record = Record::load(models_dir);
    let mut report = PullReport::default();
    for model in models {
        for file in &model.files {
            match pull_file(&client, options, models_dir, &mut record, model, file, progress).await {
                Ok(pulled) => report.pulled.push(pulled),
                Err(e) => {
                    // The caller reports failures (one line per model); a log line here would repeat it.
                    debug!(model = %model.name, path = %file.path, error = %e, "model file not pulled");
                    report.failed.push((model.name.clone(), e));
                    break;
                }
            }
        }
    }
    Ok(report)
}

async fn pull_file(
    client: &reqwest::Client,
    options: &PullOptions,
    models_dir: &Path,
    record: &mut Record,
    model: &Model,
    file: &ModelFile,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Pulled, ModelsError> {
    let dest = store::destination(models_dir, file);
    let expected = record.expected_sha256(file);
    let tofu = file.sha256.is_none();
    let done = |sha256: String, downloaded: bool| Pulled {
        model: model.name.clone(),
        path: dest.clone(),
        sha256,
        downloaded,
        trusted_on_first_use: tofu,
    };
    match store::state(models_dir, record, file) {
        FileState::Verified { sha256, .. } => {
            progress(&Progress::Installed { model: &model.name, path: &file.path });
            return Ok(done(sha256, false));
        }
        FileState::Unchecked { .. } => {
            progress(&Progress::Verifying { model: &model.name, path: &file.path });
            let (_, actual) = download::hash_file(&dest)?;
            if expected.as_deref().is_none_or(|e| e.eq_ignore_ascii_case(&actual)) {
                record.insert(models_dir, file, &actual, tofu)?;
                record.save(models_dir)?;
                progress(&Progress::Installed { model: &model.name, path: &file.path });
                return Ok(done(actual, false));
            }
            // A damaged or foreign file must not stay where an engine would load it.
            warn!(path = %dest.display(), expected = ?expected, %actual, "installed file fails its checksum; fetching it again");
            std::fs::remove_file(&dest).map_err(|source| ModelsError::Io { path: dest.clone(), source })?;
        }
        FileState::Missing { .. } => {}
    }
    let wanted = ModelFile { sha256: expected, ..file.clone() };
    let sha256 = download::fetch(client, options, &model.name, &wanted, &dest, progress).await?;
    record.insert(models_dir, file, &sha256, tofu)?;
    record.save(models_dir)?;
    progress(&Progress::Done { model: &model.name, path: &file.path, sha256: &sha256, trusted_on_first_use: tofu });
    Ok(done(sha256, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_defaults_names_and_all() {
        let c = catalog();
        let defaults = select(&c, &[]).unwrap();
        assert!(defaults.iter().all(|m| m.default), "{defaults:?}");
        assert_eq!(defaults.len(), c.iter().filter(|m| m.default).count());
        assert!(defaults.len() < c.len(), "the catalog has optional models that a plain pull leaves out");
        let picked = select(&c, &["Silero-VAD".into(), "whisper-tiny.en".into()]).unwrap();
        assert_eq!(picked.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["whisper-tiny.en", "silero-vad"]);
        assert_eq!(select(&c, &["all".into()]).unwrap().len(), c.len());
        let err = select(&c, &["whisper-huge".into()]).unwrap_err().to_string();
        assert!(err.contains("whisper-huge") && err.contains("whisper-tiny.en"), "{err}");
    }
}
