//! `hearth models list`: every catalog model, whether it is installed, where, how big, its licence,
//! and for missing ones the command that fetches them.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::catalog::{catalog, Model};
use crate::store::{self, FileState, Record};

/// One file of a listed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileListing {
    /// Relative to the models directory.
    pub path: String,
    pub full_path: PathBuf,
    pub state: FileState,
    /// Published size in bytes, when known.
    pub expected_size: Option<u64>,
    /// Whether a sha256 is published for it.
    pub sha256_published: bool,
}

/// One model of the catalog as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub name: String,
    pub description: String,
    pub licence: String,
    pub default: bool,
    pub files: Vec<FileListing>,
}

impl Listing {
    /// Every file is there.
    pub fn installed(&self) -> bool {
        self.files.iter().all(|f| f.state.is_present())
    }

    /// Bytes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.files
            .iter()
            .map(|f| match &f.state {
                FileState::Verified { size, .. } | FileState::Unchecked { size } => *size,
                FileState::Missing { .. } => 0,
            })
            .sum()
    }
}

/// The built-in catalog as found under `models_dir` (no file is hashed).
pub fn list(models_dir: &Path) -> Vec<Listing> {
    list_with(&catalog(), models_dir)
}

/// [`list`] for any catalog.
pub fn list_with(catalog: &[Model], models_dir: &Path) -> Vec<Listing> {
    let record = Record::load(models_dir);
    catalog
        .iter()
        .map(|m| Listing {
            name: m.name.clone(),
            description: m.description.clone(),
            licence: m.licence.clone(),
            default: m.default,
            files: m
                .files
                .iter()
                .map(|f| FileListing {
                    path: f.path.clone(),
                    full_path: store::destination(models_dir, f),
                    state: store::state(models_dir, &record, f),
                    expected_size: f.size,
                    sha256_published: f.sha256.is_some(),
                })
                .collect(),
        })
        .collect()
}

/// Bytes as a person reads them: 1.5 GiB, 63.2 MiB, 4.8 KiB.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

/// The listing as text for the terminal.
pub fn render(listings: &[Listing], models_dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Models in {}\n", models_dir.display());
    for l in listings {
        let optional = if l.default { "" } else { " (optional)" };
        if l.installed() {
            let _ = writeln!(out, "{}{optional}: installed, {} — {}", l.name, human_size(l.size_on_disk()), l.description);
        } else {
            let expected: u64 = l.files.iter().filter_map(|f| f.expected_size).sum();
            let size = if expected > 0 { format!(", about {} to download", human_size(expected)) } else { String::new() };
            let _ = writeln!(out, "{}{optional}: missing{size} — {}", l.name, l.description);
        }
        for f in &l.files {
            let _ = writeln!(out, "    {}  {}", f.full_path.display(), file_state(f));
        }
        let _ = writeln!(out, "    licence: {}", l.licence);
        if !l.installed() {
            let _ = writeln!(out, "    get it with: hearth models pull {}", l.name);
        }
        out.push('\n');
    }
    out
}

fn file_state(f: &FileListing) -> String {
    match &f.state {
        FileState::Missing { partial: Some(bytes) } => format!("missing ({} downloaded so far; pull resumes)", human_size(*bytes)),
        FileState::Missing { partial: None } => "missing".into(),
        FileState::Verified { size, trusted_on_first_use: false, .. } => format!("{}, sha256 verified", human_size(*size)),
        FileState::Verified { size, sha256, trusted_on_first_use: true } => {
            format!("{}, no published sha256: recorded {sha256} on first download (trust on first use)", human_size(*size))
        }
        FileState::Unchecked { size } if f.sha256_published => format!("{}, not yet verified (pull checks it)", human_size(*size)),
        FileState::Unchecked { size } => format!("{}, no published sha256 and none recorded yet (pull records it)", human_size(*size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_words() {
        assert_eq!(human_size(900), "900 B");
        assert_eq!(human_size(4885), "4.8 KiB");
        assert_eq!(human_size(63_201_294), "60.3 MiB");
        assert_eq!(human_size(2_497_281_120), "2.3 GiB");
    }

    #[test]
    fn lists_an_empty_directory_with_pull_commands() {
        let dir = tempfile::tempdir().unwrap();
        let listings = list(dir.path());
        assert!(listings.iter().all(|l| !l.installed()));
        let text = render(&listings, dir.path());
        assert!(text.contains("hearth models pull qwen3-4b-instruct"), "{text}");
        assert!(text.contains("openwakeword-words (optional): missing"), "{text}");
        assert!(text.contains("CC BY-NC-SA 4.0"), "{text}");
    }
}
