//! `hearth-asr bench --reference`: Hearth's whisper.cpp beside faster-whisper (CTranslate2, the engine
//! the seed used), same weights, same clips, one run.
//!
//! Hearth decodes greedily with the encoder context scaled to the clip, as the service does.
//! faster-whisper decodes greedily too, without timestamps, VAD or previous-text conditioning, in each
//! compute type asked for (int8 and float32 by default); it always encodes a 30 s window. It runs in a
//! Python that has `faster-whisper` (`--python`); its timings come back as JSON lines.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;
use thiserror::Error;

use crate::audio::WHISPER_RATE_HZ;
use crate::engine::{DecodeOptions, EngineError, Recognizer};
use crate::files::{read_wav, FileError};
use crate::wer::errors;

const SCRIPT: &str = include_str!("faster_whisper_reference.py");

#[derive(Debug, Error)]
pub enum ReferenceError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("cannot prepare the reference run in {}: {source}", dir.display())]
    Scratch { dir: PathBuf, source: std::io::Error },
    #[error("cannot run {python} for faster-whisper: {source} (pass --python with a Python that has faster-whisper)")]
    Spawn { python: String, source: std::io::Error },
    #[error("faster-whisper failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("unexpected output from the faster-whisper script: {0}")]
    Output(String),
}

/// A clip to time, with its words when known (for the WER column).
#[derive(Debug, Clone)]
pub struct RefClip {
    pub name: String,
    /// 16 kHz mono.
    pub samples: Vec<f32>,
    pub reference: Option<String>,
}

/// JFK's inaugural line (`../shared/audio/jfk.wav`, 11 s) cut in its pauses (found from the energy
/// envelope: 2.15–3.20 s, 3.65–3.95 s, 4.30–5.35 s, 7.55–8.10 s, after 10.45 s) into clips of about 2,
/// 5 and 10 s, each with the words it holds: (name, start s, end s, words).
pub const JFK_CUTS: &[(&str, f32, f32, &str)] = &[
    ("jfk 2 s", 3.2, 5.2, "ask not"),
    ("jfk 5 s", 0.0, 5.2, "And so my fellow Americans, ask not"),
    ("jfk 10 s", 0.25, 10.45, "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."),
];

/// The [`JFK_CUTS`] of the recording at `path`.
pub fn jfk_clips(path: &Path) -> Result<Vec<RefClip>, FileError> {
    let audio = read_wav(path)?;
    let at = |s: f32| ((s * WHISPER_RATE_HZ as f32) as usize).min(audio.len());
    Ok(JFK_CUTS
        .iter()
        .map(|&(name, from, to, words)| RefClip {
            name: name.into(),
            samples: audio[at(from)..at(to)].to_vec(),
            reference: Some(words.into()),
        })
        .collect())
}

#[derive(Debug, Clone)]
pub struct ReferenceOptions {
    /// whisper.cpp model (ggml).
    pub model: PathBuf,
    /// The same weights as a CTranslate2 directory.
    pub ct2_dir: PathBuf,
    pub python: String,
    pub clips: Vec<RefClip>,
    pub compute_types: Vec<String>,
    pub repetitions: u32,
    pub threads: u32,
}

/// One engine on one clip.
#[derive(Debug, Clone)]
pub struct RefRow {
    pub engine: String,
    pub clip: String,
    pub audio_s: f64,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub text: String,
    /// Word error rate against the clip's words, 0..1.
    pub wer: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct ReferenceReport {
    pub threads: u32,
    pub repetitions: u32,
    /// (engine, load and warm-up milliseconds).
    pub loads: Vec<(String, f64)>,
    pub rows: Vec<RefRow>,
}

#[derive(Deserialize)]
struct ScriptLine {
    compute_type: String,
    clip: String,
    load_ms: f64,
    times_ms: Vec<f64>,
    text: String,
}

pub const HEARTH_ENGINE: &str = "hearth whisper.cpp greedy, scaled ctx";

/// Times every clip on Hearth's engine, then on faster-whisper in each compute type.
pub fn bench_reference(o: &ReferenceOptions) -> Result<ReferenceReport, ReferenceError> {
    let mut report = ReferenceReport { threads: o.threads, repetitions: o.repetitions, loads: Vec::new(), rows: Vec::new() };
    let wer = |clip: &RefClip, text: &str| clip.reference.as_deref().map(|r| errors(r, text).rate());
    let audio_s = |clip: &RefClip| clip.samples.len() as f64 / WHISPER_RATE_HZ as f64;

    let started = Instant::now();
    let options = DecodeOptions { threads: o.threads, beam_size: 1, scale_audio_ctx: true, ..DecodeOptions::default() };
    let mut engine = Recognizer::load(&o.model, "whisper-tiny.en", options)?;
    report.loads.push((HEARTH_ENGINE.into(), started.elapsed().as_secs_f64() * 1000.0));
    for clip in &o.clips {
        let mut times = Vec::new();
        let mut text = String::new();
        for _ in 0..o.repetitions.max(1) {
            let t = Instant::now();
            let padded = crate::audio::pad_to_min(clip.samples.clone());
            text = engine.transcribe(&padded)?.text.trim().to_owned();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        report.rows.push(row(HEARTH_ENGINE.into(), clip, audio_s(clip), &times, text.clone(), wer(clip, &text)));
    }
    drop(engine);

    if o.compute_types.is_empty() {
        return Ok(report);
    }
    for line in run_script(o)? {
        let clip = o.clips.iter().find(|c| c.name == line.clip).ok_or_else(|| ReferenceError::Output(line.clip.clone()))?;
        let engine = format!("faster-whisper {} greedy", line.compute_type);
        if !report.loads.iter().any(|(e, _)| *e == engine) {
            report.loads.push((engine.clone(), line.load_ms));
        }
        let text = line.text.trim().to_owned();
        report.rows.push(row(engine, clip, audio_s(clip), &line.times_ms, text.clone(), wer(clip, &text)));
    }
    Ok(report)
}

fn row(engine: String, clip: &RefClip, audio_s: f64, times: &[f64], text: String, wer: Option<f64>) -> RefRow {
    RefRow {
        engine,
        clip: clip.name.clone(),
        audio_s,
        mean_ms: times.iter().sum::<f64>() / times.len().max(1) as f64,
        min_ms: times.iter().copied().fold(f64::INFINITY, f64::min),
        text,
        wer,
    }
}

/// Writes the clips as WAVs, runs the faster-whisper script on them, parses its JSON lines.
fn run_script(o: &ReferenceOptions) -> Result<Vec<ScriptLine>, ReferenceError> {
    let dir = tempfile::tempdir().map_err(|source| ReferenceError::Scratch { dir: std::env::temp_dir(), source })?;
    let scratch = |source| ReferenceError::Scratch { dir: dir.path().into(), source };
    let script = dir.path().join("faster_whisper_reference.py");
    std::fs::write(&script, SCRIPT).map_err(scratch)?;
    let mut clips = Vec::new();
    for (i, clip) in o.clips.iter().enumerate() {
        let wav = dir.path().join(format!("clip{i}.wav"));
        write_wav(&wav, &clip.samples).map_err(|e| scratch(std::io::Error::other(e)))?;
        clips.push(serde_json::json!({ "name": clip.name, "wav": wav }));
    }
    let request = serde_json::json!({
        "model_dir": o.ct2_dir,
        "compute_types": o.compute_types,
        "threads": o.threads,
        "repetitions": o.repetitions.max(1),
        "clips": clips,
    });
    let mut child = Command::new(&o.python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ReferenceError::Spawn { python: o.python.clone(), source })?;
    child.stdin.take().expect("piped").write_all(request.to_string().as_bytes()).map_err(scratch)?;
    let out = child.wait_with_output().map_err(scratch)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(ReferenceError::Failed { status: out.status.to_string(), stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n") });
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).map_err(|e| ReferenceError::Output(format!("{e}: {l}"))))
        .collect()
}

fn write_wav(path: &Path, samples: &[f32]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec { channels: 1, sample_rate: WHISPER_RATE_HZ, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
    }
    w.finalize()
}

impl fmt::Display for ReferenceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "whisper.cpp {} vs faster-whisper · {} threads · {} runs per case", whisper_rs::WHISPER_CPP_VERSION, self.threads, self.repetitions)?;
        for (engine, ms) in &self.loads {
            writeln!(f, "{engine}: load + warm-up {ms:.0} ms")?;
        }
        writeln!(f)?;
        writeln!(f, "| clip | engine | mean ms | min ms | real-time factor | vs Hearth | WER |")?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        for row in &self.rows {
            let hearth = self.rows.iter().find(|r| r.engine == HEARTH_ENGINE && r.clip == row.clip);
            let relative = hearth.map_or(String::new(), |h| format!("{:.2}×", row.mean_ms / h.mean_ms));
            let wer = row.wer.map_or("–".into(), |w| format!("{:.1} %", 100.0 * w));
            writeln!(
                f,
                "| {} ({:.1} s) | {} | {:.0} | {:.0} | {:.3} | {} | {} |",
                row.clip,
                row.audio_s,
                row.engine,
                row.mean_ms,
                row.min_ms,
                row.mean_ms / 1000.0 / row.audio_s,
                relative,
                wer
            )?;
        }
        writeln!(f)?;
        for row in &self.rows {
            writeln!(f, "{} · {}: {:?}", row.clip, row.engine, row.text)?;
        }
        Ok(())
    }
}

/// Where `scripts/fetch-real-models.sh` leaves the real models: `$HEARTH_REAL_MODELS`, else
/// `$HEARTH_CACHE/real-models`, else `~/.cache/hearth/real-models`.
pub fn default_real_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HEARTH_REAL_MODELS") {
        return dir.into();
    }
    let cache = std::env::var_os("HEARTH_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".cache/hearth")
    });
    cache.join("real-models")
}
