//! What a pull reports while it works, and a terminal progress bar that shows it.

use indicatif::{ProgressBar, ProgressStyle};

/// One step of a pull. `path` is the file's destination relative to the models directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// Already there with the right checksum; nothing to fetch.
    Installed { model: &'a str, path: &'a str },
    /// A transfer begins (`resumed_from` > 0 when it continues a `.part`).
    Start { model: &'a str, path: &'a str, total: Option<u64>, resumed_from: u64 },
    /// Bytes of the file on disk so far.
    Bytes { model: &'a str, path: &'a str, done: u64, total: Option<u64> },
    /// The transfer broke off; it resumes after a pause.
    Retrying { model: &'a str, path: &'a str, attempt: u32, error: &'a str },
    /// Checking size and sha256.
    Verifying { model: &'a str, path: &'a str },
    /// In place and verified; `trusted_on_first_use` when no digest was published and this one was recorded.
    Done { model: &'a str, path: &'a str, sha256: &'a str, trusted_on_first_use: bool },
}

/// A progress bar per file on the terminal (stderr), for `hearth models pull`.
#[derive(Default)]
pub struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl TerminalProgress {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed this every event: `pull(dir, names, &mut |p| bar.on_progress(p))`.
    pub fn on_progress(&mut self, event: &Progress) {
        match *event {
            Progress::Installed { model, path } => eprintln!("{model}: {path} already installed and verified"),
            Progress::Start { model, path, total, resumed_from } => {
                let bar = match total {
                    Some(t) => ProgressBar::new(t),
                    None => ProgressBar::new_spinner(),
                };
                let template = if total.is_some() {
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
                } else {
                    "{msg} {spinner} {bytes} {bytes_per_sec}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(format!("{model}: {path}"));
                bar.set_position(resumed_from);
                if resumed_from > 0 {
                    bar.println(format!("{model}: resuming {path} from byte {resumed_from}"));
                }
                if let Some(old) = self.bar.replace(bar) {
                    old.finish_and_clear();
                }
            }
            Progress::Bytes { done, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done);
                }
            }
            Progress::Retrying { model, path, attempt, error } => {
                let line = format!("{model}: {path} interrupted ({error}); resuming, try {}", attempt + 1);
                match &self.bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            Progress::Verifying { .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{} (verifying)", bar.message()));
                }
            }
            Progress::Done { model, path, sha256, trusted_on_first_use } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                if trusted_on_first_use {
                    eprintln!("{model}: {path} installed; no published sha256, recorded {sha256} (trust on first use)");
                } else {
                    eprintln!("{model}: {path} installed, sha256 verified");
                }
            }
        }
    }
}
