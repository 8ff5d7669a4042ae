//! `hearth-asr bench`: time per utterance by model, audio length, decoding and encoder context.
//!
//! By default it generates (once, into a cache directory) random-weight models with the exact shapes
//! of whisper tiny.en and base.en: the encoder's cost depends only on shapes, and the decoder is
//! held to a realistic token count (3 per second of audio, about a fast speaker's rate, plus 2),
//! because a random model never ends a sentence by itself. `--model` times a real model instead,
//! which then decodes as many tokens as it wants; `--audio` feeds it a real recording.

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use thiserror::Error;

use crate::audio::WHISPER_RATE_HZ;
use crate::engine::{DecodeOptions, EngineError, Recognizer};
use crate::model::Hparams;
use crate::synth;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("cannot write benchmark models to {dir}: {source}")]
    Cache { dir: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Audio(#[from] crate::files::FileError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A model to time.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchModel {
    /// Random weights with these shapes, written to the cache directory.
    Synthetic { name: String, hparams: Hparams },
    /// A user's model file.
    File(PathBuf),
}

impl BenchModel {
    pub fn tiny_en() -> Self {
        BenchModel::Synthetic { name: "random-tiny.en".into(), hparams: Hparams::TINY_EN }
    }

    pub fn base_en() -> Self {
        BenchModel::Synthetic { name: "random-base.en".into(), hparams: Hparams::BASE_EN }
    }

    fn label(&self) -> String {
        match self {
            BenchModel::Synthetic { name, .. } => name.clone(),
            BenchModel::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub models: Vec<BenchModel>,
    /// Utterance lengths, seconds.
    pub durations_s: Vec<f32>,
    /// Beam sizes to compare (1 = greedy).
    pub beams: Vec<u32>,
    /// Timed runs per case (after the load-time warm-up).
    pub repetitions: u32,
    pub threads: u32,
    /// Where random models are generated.
    pub cache_dir: PathBuf,
    /// A WAV file to cut the utterances from (looped when shorter); default synthetic audio.
    pub audio: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            models: vec![BenchModel::tiny_en(), BenchModel::base_en()],
            durations_s: vec![2.0, 5.0, 10.0],
            beams: vec![1, 5],
            repetitions: 2,
            threads: crate::AsrConfig::default().threads(),
            cache_dir: default_cache_dir(),
            audio: None,
        }
    }
}

/// `$XDG_CACHE_HOME/hearth/asr-bench`, else `~/.cache/hearth/asr-bench`, else the temp directory.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("hearth").join("asr-bench")
}

/// One measured case.
#[derive(Debug, Clone)]
pub struct BenchRow {
    pub model: String,
    pub audio_s: f32,
    pub beam_size: u32,
    /// Encoder frames (1500 = the full 30 s context).
    pub audio_ctx: u32,
    pub scaled: bool,
    pub mean_ms: f64,
    pub min_ms: f64,
    /// Tokens decoded in the last run.
    pub tokens: usize,
    /// Text of the last run (real models only).
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub threads: u32,
    pub repetitions: u32,
    /// (model, load and warm-up milliseconds).
    pub loads: Vec<(String, f64)>,
    pub rows: Vec<BenchRow>,
}

/// Runs every case: models × lengths × beams × {scaled, full} encoder context.
pub fn bench_asr(options: &BenchOptions) -> Result<Report, BenchError> {
    let longest = options.durations_s.iter().copied().fold(0.0f32, f32::max);
    let audio = match &options.audio {
        Some(path) => crate::files::read_wav(path)?,
        None => synthetic_speechlike(longest),
    };
    let mut report = Report { threads: options.threads, repetitions: options.repetitions, loads: Vec::new(), rows: Vec::new() };
    for model in &options.models {
        let (path, synthetic) = match model {
            BenchModel::Synthetic { name, hparams } => {
                let path = synth::cached_random_model(&options.cache_dir, name, hparams)
                    .map_err(|source| BenchError::Cache { dir: options.cache_dir.clone(), source })?;
                (path, true)
            }
            BenchModel::File(p) => (p.clone(), false),
        };
        let base = DecodeOptions { threads: options.threads, ..DecodeOptions::default() };
        let started = Instant::now();
        let mut engine = Recognizer::load(&path, "whisper-tiny.en", base.clone())?;
        report.loads.push((model.label(), started.elapsed().as_secs_f64() * 1000.0));
        for &seconds in &options.durations_s {
            let samples = cut(&audio, seconds);
            for &beam_size in &options.beams {
                for scaled in [true, false] {
                    let max_tokens = if synthetic { (3.0 * seconds).ceil() as u32 + 2 } else { 0 };
                    engine.set_options(DecodeOptions { beam_size, scale_audio_ctx: scaled, max_tokens, ..base.clone() });
                    let mut times = Vec::new();
                    let mut last = None;
                    for _ in 0..options.repetitions.max(1) {
                        let t = Instant::now();
                        let r = engine.transcribe(&samples)?;
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                        last = Some(r);
                    }
                    let last = last.expect("at least one repetition");
                    report.rows.push(BenchRow {
                        model: model.label(),
                        audio_s: seconds,
                        beam_size,
                        audio_ctx: last.audio_ctx,
                        scaled,
                        mean_ms: times.iter().sum::<f64>() / times.len() as f64,
                        min_ms: times.iter().copied().fold(f64::INFINITY, f64::min),
                        tokens: last.tokens,
                        text: (!synthetic).then(|| last.text.trim().to_string()),
                    });
                }
            }
        }
    }
    Ok(report)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "whisper.cpp {} · {} threads · {} runs per case", whisper_rs::WHISPER_CPP_VERSION, self.threads, self.repetitions)?;
        for (model, ms) in &self.loads {
            writeln!(f, "{model}: load + warm-up {ms:.0} ms")?;
        }
        writeln!(f)?;
        writeln!(f, "| model | audio | decoding | audio_ctx | tokens | mean ms | min ms | real-time factor | scaled ctx speed-up |")?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|")?;
        for row in &self.rows {
            let decoding = if row.beam_size > 1 { format!("beam {}", row.beam_size) } else { "greedy".into() };
            let ctx = if row.scaled { format!("{} (scaled)", row.audio_ctx) } else { format!("{} (full)", row.audio_ctx) };
            let speedup = if row.scaled {
                self.rows
                    .iter()
                    .find(|o| !o.scaled && o.model == row.model && o.audio_s == row.audio_s && o.beam_size == row.beam_size)
                    .map(|o| format!("{:.2}×", o.mean_ms / row.mean_ms))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            writeln!(
                f,
                "| {} | {:.0} s | {} | {} | {} | {:.0} | {:.0} | {:.3} | {} |",
                row.model,
                row.audio_s,
                decoding,
                ctx,
                row.tokens,
                row.mean_ms,
                row.min_ms,
                row.mean_ms / 1000.0 / row.audio_s as f64,
                speedup
            )?;
        }
        for row in self.rows.iter().filter(|r| r.text.is_some()) {
            writeln!(f, "{} {:.0} s beam {} scaled={}: {:?}", row.model, row.audio_s, row.beam_size, row.scaled, row.text.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

/// The first `seconds` of `audio`, looping it when it is shorter.
fn cut(audio: &[f32], seconds: f32) -> Vec<f32> {
    let n = (seconds * WHISPER_RATE_HZ as f32) as usize;
    if audio.is_empty() {
        return vec![0.0; n];
    }
    audio.iter().copied().cycle().take(n).collect()
}

/// A voiced-speech stand-in: a 140 Hz harmonic series with a syllable-rate (4 Hz) envelope plus a
/// little noise. whisper's compute does not depend on it; it only keeps the input realistic.
pub fn synthetic_speechlike(seconds: f32) -> Vec<f32> {
    let n = (seconds * WHISPER_RATE_HZ as f32) as usize;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|i| {
            let t = i as f32 / WHISPER_RATE_HZ as f32;
            let envelope = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 4.0 * t).sin();
            let voice: f32 = (1..=8).map(|k| (2.0 * std::f32::consts::PI * 140.0 * k as f32 * t).sin() / k as f32).sum();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            0.1 * envelope * voice + 0.01 * noise
        })
        .collect()
}
