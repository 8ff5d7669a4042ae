//! `hearth eval asr MANIFEST`: word error rate and real-time factor over recordings with known text.
//!
//! A manifest has one clip per line: a WAV path (relative paths are relative to the manifest), a tab,
//! and the reference text. Without a tab the path ends at the first space. Blank lines and lines
//! starting with `#` are skipped.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::engine::Recognizer;
use crate::files::{transcribe_file, FileError, FileTranscript};
use crate::wer::{errors, Errors};

#[derive(Debug, Error)]
pub enum EvalError {
    #[error("cannot read the manifest {}: {source}", path.display())]
    Manifest { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: expected `PATH<TAB>REFERENCE TEXT`", path.display())]
    Line { path: PathBuf, line: usize },
    #[error("{} lists no clips", path.display())]
    Empty { path: PathBuf },
    #[error(transparent)]
    File(#[from] FileError),
}

/// One clip of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    pub audio: PathBuf,
    pub reference: String,
}

/// Reads a manifest.
pub fn read_manifest(path: &Path) -> Result<Vec<Clip>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Manifest { path: path.into(), source })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let clips = parse_manifest(&text, base).map_err(|line| EvalError::Line { path: path.into(), line })?;
    if clips.is_empty() {
        return Err(EvalError::Empty { path: path.into() });
    }
    Ok(clips)
}

/// Parses manifest text; the error is the 1-based number of the first bad line.
pub fn parse_manifest(text: &str, base: &Path) -> Result<Vec<Clip>, usize> {
    let mut clips = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (audio, reference) = line.split_once('\t').or_else(|| line.split_once(' ')).ok_or(i + 1)?;
        let (audio, reference) = (audio.trim(), reference.trim());
        if audio.is_empty() || reference.is_empty() {
            return Err(i + 1);
        }
        clips.push(Clip { audio: base.join(audio), reference: reference.to_owned() });
    }
    Ok(clips)
}

/// One clip's result.
#[derive(Debug, Clone)]
pub struct ClipResult {
    pub clip: Clip,
    pub transcript: FileTranscript,
    pub errors: Errors,
}

/// All clips' results and their totals.
#[derive(Debug, Clone)]
pub struct EvalReport {
    pub model: String,
    pub clips: Vec<ClipResult>,
}

impl EvalReport {
    pub fn total(&self) -> Errors {
        let mut total = Errors::default();
        self.clips.iter().for_each(|c| total.add(c.errors));
        total
    }

    pub fn audio_ms(&self) -> u64 {
        self.clips.iter().map(|c| c.transcript.audio_ms).sum()
    }

    pub fn processing_ms(&self) -> u64 {
        self.clips.iter().map(|c| c.transcript.processing_ms).sum()
    }

    /// Total processing time per total audio time.
    pub fn real_time_factor(&self) -> f64 {
        self.processing_ms() as f64 / self.audio_ms().max(1) as f64
    }
}

/// Transcribes every clip with `engine` and scores it against its reference.
pub fn evaluate(engine: &mut Recognizer, clips: &[Clip]) -> Result<EvalReport, EvalError> {
    let model = engine.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut results = Vec::with_capacity(clips.len());
    for clip in clips {
        let transcript = transcribe_file(engine, &clip.audio)?;
        let errors = errors(&clip.reference, transcript.text());
        results.push(ClipResult { clip: clip.clone(), transcript, errors });
    }
    Ok(EvalReport { model, clips: results })
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| clip | words | sub | del | ins | WER | audio s | ms | RTF | heard |")?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|---|")?;
        for c in &self.clips {
            let name = c.clip.audio.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            let e = c.errors;
            writeln!(
                f,
                "| {name} | {} | {} | {} | {} | {:.1} % | {:.2} | {} | {:.3} | {} |",
                e.reference_words,
                e.substitutions,
                e.deletions,
                e.insertions,
                100.0 * e.rate(),
                c.transcript.audio_ms as f64 / 1000.0,
                c.transcript.processing_ms,
                c.transcript.real_time_factor(),
                c.transcript.text(),
            )?;
        }
        let t = self.total();
        writeln!(f)?;
        write!(
            f,
            "{}: {} clips, {} words: WER {:.2} % ({} substitutions, {} deletions, {} insertions); \
             {:.1} s of audio in {:.1} s, real-time factor {:.3}; {} decoded again with the full context",
            self.model,
            self.clips.len(),
            t.reference_words,
            100.0 * t.rate(),
            t.substitutions,
            t.deletions,
            t.insertions,
            self.audio_ms() as f64 / 1000.0,
            self.processing_ms() as f64 / 1000.0,
            self.real_time_factor(),
            self.clips.iter().filter(|c| c.transcript.full_context_retry).count(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_take_tabs_or_a_first_space_and_resolve_paths() {
        let text = "# clips\n\na.wav\tSet a timer.\nsub/b.wav What time is it?\n/abs/c.wav\tHello there\n";
        let clips = parse_manifest(text, Path::new("/m")).unwrap();
        assert_eq!(clips.len(), 3);
        assert_eq!(clips[0], Clip { audio: "/m/a.wav".into(), reference: "Set a timer.".into() });
        assert_eq!(clips[1].audio, PathBuf::from("/m/sub/b.wav"));
        assert_eq!(clips[1].reference, "What time is it?");
        assert_eq!(clips[2].audio, PathBuf::from("/abs/c.wav"));
        assert_eq!(parse_manifest("ok.wav fine\nlonely.wav\n", Path::new(".")), Err(2));
    }
}
