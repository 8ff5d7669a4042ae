//! Recordings on disk: a WAV file of any rate, channel count and sample format into whisper's input,
//! and one-shot transcription of files with the service's own engine and filter (`hearth transcribe`).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::audio::{duration_ms, pad_to_min, resample, WHISPER_RATE_HZ};
use crate::engine::{EngineError, Recognizer, Segment};
use crate::filter::{classify, Heard};

#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Wav { path: PathBuf, source: hound::Error },
    #[error("{}: {why}", path.display())]
    Unusable { path: PathBuf, why: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A WAV file as 16 kHz mono f32 (channels averaged, band-limited resampling).
pub fn read_wav(path: &Path) -> Result<Vec<f32>, FileError> {
    let wav = |source| FileError::Wav { path: path.into(), source };
    let mut reader = hound::WavReader::open(path).map_err(wav)?;
    let spec = reader.spec();
    if spec.channels == 0 || !(1000..=384_000).contains(&spec.sample_rate) {
        return Err(FileError::Unusable {
            path: path.into(),
            why: format!("{} channels at {} Hz", spec.channels, spec.sample_rate),
        });
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>().map_err(wav)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader.samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect::<Result<_, _>>().map_err(wav)?
        }
    };
    let channels = spec.channels as usize;
    let mono: Vec<f32> =
        interleaved.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32).collect();
    Ok(resample(&mono, spec.sample_rate, WHISPER_RATE_HZ))
}

/// One file's transcript, as the ASR service would have published it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTranscript {
    pub path: PathBuf,
    /// What the service would publish: the cleaned text, or nothing for silence and non-speech.
    pub heard: Heard,
    /// whisper's raw text.
    pub raw: String,
    pub audio_ms: u64,
    pub processing_ms: u64,
    /// Encoder frames used.
    pub audio_ctx: u32,
    pub tokens: usize,
    /// whisper's segments with their times.
    pub segments: Vec<Segment>,
    /// Decoded a second time with the full context ([`crate::runaway`]).
    pub full_context_retry: bool,
}

impl FileTranscript {
    /// The words heard, or "" for silence and non-speech.
    pub fn text(&self) -> &str {
        match &self.heard {
            Heard::Speech(t) => t,
            Heard::Empty | Heard::NonSpeech(_) => "",
        }
    }

    /// Processing time per audio time.
    pub fn real_time_factor(&self) -> f64 {
        self.processing_ms as f64 / self.audio_ms.max(1) as f64
    }
}

/// Transcribes one audio buffer the way the service does: padded to a second, then filtered.
pub fn transcribe_samples(engine: &mut Recognizer, path: &Path, samples: Vec<f32>) -> Result<FileTranscript, FileError> {
    if samples.is_empty() {
        return Err(FileError::Unusable { path: path.into(), why: "no audio".into() });
    }
    let audio_ms = duration_ms(samples.len());
    let r = engine.transcribe(&pad_to_min(samples))?;
    Ok(FileTranscript {
        path: path.into(),
        heard: classify(&r.text),
        raw: r.text,
        audio_ms,
        processing_ms: r.processing_ms,
        audio_ctx: r.audio_ctx,
        tokens: r.tokens,
        segments: r.segments,
        full_context_retry: r.full_context_retry,
    })
}

/// Reads and transcribes one WAV file.
pub fn transcribe_file(engine: &mut Recognizer, path: &Path) -> Result<FileTranscript, FileError> {
    let samples = read_wav(path)?;
    transcribe_samples(engine, path, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_files_of_any_format_become_16_khz_mono() {
        let dir = tempfile::tempdir().unwrap();
        let stereo = dir.path().join("stereo.wav");
        let spec = hound::WavSpec { channels: 2, sample_rate: 48_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        let mut w = hound::WavWriter::create(&stereo, spec).unwrap();
        for _ in 0..48_000 {
            w.write_sample(16_384i16).unwrap();
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let s = read_wav(&stereo).unwrap();
        assert!((s.len() as i64 - 16_000).abs() <= 1);
        assert!((s[8_000] - 0.25).abs() < 1e-3, "{}", s[8_000]);

        let float = dir.path().join("float.wav");
        let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 32, sample_format: hound::SampleFormat::Float };
        let mut w = hound::WavWriter::create(&float, spec).unwrap();
        for _ in 0..100 {
            w.write_sample(-0.5f32).unwrap();
        }
        w.finalize().unwrap();
        assert_eq!(read_wav(&float).unwrap(), vec![-0.5; 100]);

        let err = read_wav(&dir.path().join("missing.wav")).unwrap_err().to_string();
        assert!(err.contains("missing.wav"), "{err}");
    }
}
