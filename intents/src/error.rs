//! Start-up errors: each names the file, the line and column, and the problem, the way a compiler does
//! (`~/.config/hearth/intents/kitchen.toml:12:18: unknown list {dish}`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

/// Where something was written: a file (or `<built-in intents.toml>`), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: usize,
    pub column: usize,
}

impl Origin {
    /// The origin of byte `offset` in `source`.
    pub fn at(file: &Arc<str>, source: &str, offset: usize) -> Origin {
        let before = &source[..offset.min(source.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Origin { file: file.clone(), line, column }
    }

    /// The same place moved `chars` characters right (into a template string).
    pub fn shifted(&self, chars: usize) -> Origin {
        Origin { column: self.column + chars, ..self.clone() }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Debug, Error)]
pub enum IntentsError {
    #[error("cannot read intents {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not valid TOML, or a key or value is not what the format allows.
    #[error("{origin}: {problem}")]
    Format { origin: Origin, problem: String },
    /// A template, list, rule or intent that cannot be compiled.
    #[error("{origin}: {problem}")]
    Template { origin: Origin, problem: String },
}

impl IntentsError {
    /// Where the problem is, when it is in a file's text.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            IntentsError::Read { .. } => None,
            IntentsError::Format { origin, .. } | IntentsError::Template { origin, .. } => Some(origin),
        }
    }
}
