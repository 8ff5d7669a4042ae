//! `hearth bench tts`: real-time factor and time to first audio for the Piper path and the espeak-ng
//! voice, with Python piper-tts on the same Piper voice in the same run for comparison.
//!
//! Time to first audio is measured the way the service streams: a paragraph arrives as one text, is
//! normalized and cut into sentences, and the clock stops when the first sentence's audio exists.
//! The real-time factor is synthesis time over audio time for every sentence (below 1 is faster than
//! real time).

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;

use crate::engine::Engine;
use crate::espeak::Espeak;
use crate::piper::{self, PiperVoice, Scales};
use crate::TtsError;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Piper `.onnx` (with `.onnx.json` beside it); default: the project's tiny fixture voice.
    pub voice: Option<PathBuf>,
    /// libonnxruntime; default `ORT_DYLIB_PATH`, else `<data dir>/lib/libonnxruntime.so`.
    pub onnxruntime: Option<PathBuf>,
    /// Paragraphs to speak; each is timed on its own.
    pub paragraphs: Vec<String>,
    /// Times each paragraph is spoken (after one warm-up).
    pub runs: usize,
    /// Python with piper-tts for the comparison (`HEARTH_PYTHON`, default `python3`); None skips it.
    pub python: Option<String>,
    /// ONNX Runtime threads; 0 lets it choose (piper-tts's default too).
    pub threads: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            voice: None,
            onnxruntime: None,
            paragraphs: default_paragraphs(),
            runs: 3,
            python: Some(std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into())),
            threads: 0,
        }
    }
}

pub fn default_paragraphs() -> Vec<String> {
    [
        "It's two oh five PM. The kitchen timer has four minutes left.",
        "Tomorrow will be cloudy with a high of fourteen degrees Celsius and light rain in the afternoon. Take an umbrella if you go out.",
        "I set a timer for ten minutes. I'll let you know when it's done.",
        "The living room lights are off, the front door is locked, and the thermostat is set to twenty-one degrees.",
    ]
    .map(String::from)
    .to_vec()
}

/// Figures for one engine.
#[derive(Debug, Clone, Deserialize)]
pub struct Figures {
    pub engine: String,
    /// Mean time from text in to the first sentence's audio, milliseconds.
    pub first_audio_ms: f64,
    /// Synthesis time over audio time, all sentences.
    pub rtf: f64,
    /// Audio produced per run, seconds.
    pub audio_s: f64,
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub voice: PathBuf,
    pub runs: usize,
    pub rows: Vec<Figures>,
    /// Why the Python comparison is missing, when it is.
    pub python_note: Option<String>,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tts bench: voice {} ({} runs per paragraph, after one warm-up)", self.voice.display(), self.runs)?;
        writeln!(f, "{:<34} {:>16} {:>8} {:>9}", "engine", "first audio ms", "RTF", "audio s")?;
        for r in &self.rows {
            writeln!(f, "{:<34} {:>16.1} {:>8.4} {:>9.2}", r.engine, r.first_audio_ms, r.rtf, r.audio_s)?;
        }
        if let Some(note) = &self.python_note {
            writeln!(f, "python piper-tts: {note}")?;
        }
        Ok(())
    }
}

/// The fixture voice committed with the project (for a checkout; installs pass a voice).
pub fn fixture_voice() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/tts/tiny-sine.onnx"))
}

fn python_script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/tts/piper_bench.py"))
}

pub fn bench_tts(options: &BenchOptions) -> Result<BenchReport, TtsError> {
    if options.paragraphs.is_empty() || options.runs == 0 {
        return Err(TtsError::Bench("nothing to measure: no paragraphs or zero runs".into()));
    }
    let voice_path = options.voice.clone().unwrap_or_else(fixture_voice);
    let espeak = Espeak::global(None)?;
    let lib = piper::onnxruntime_path(options.onnxruntime.as_deref(), &hearth_node::config::default_data_dir());
    let env = piper::environment(&lib)?;
    let voice = PiperVoice::load(&voice_path, None, &Scales::default(), &env, options.threads)?;
    let name = format!("hearth piper:{}", voice.name);
    let mut rows = vec![measure(&name, &mut Engine::with_piper(voice, espeak.clone()), options)?];
    rows.push(measure("hearth espeak-ng:en-us", &mut Engine::with_espeak("en-us", 175, espeak), options)?);
    let mut python_note = None;
    match &options.python {
        Some(python) => match python_figures(python, &voice_path, options) {
            Ok(f) => rows.push(f),
            Err(e) => python_note = Some(e),
        },
        None => python_note = Some("skipped".into()),
    }
    Ok(BenchReport { voice: voice_path, runs: options.runs, rows, python_note })
}

fn measure(name: &str, engine: &mut Engine, options: &BenchOptions) -> Result<Figures, TtsError> {
    let rate = engine.sample_rate_hz() as f64;
    for p in &options.paragraphs {
        for piece in engine.pieces(p) {
            engine.synthesize(&piece)?;
        }
    }
    let (mut first_ms, mut synth_s, mut audio_s) = (0.0, 0.0, 0.0);
    for _ in 0..options.runs {
        for p in &options.paragraphs {
            let start = Instant::now();
            for (i, piece) in engine.pieces(p).iter().enumerate() {
                let audio = engine.synthesize(piece)?;
                if i == 0 {
                    first_ms += start.elapsed().as_secs_f64() * 1000.0;
                }
                audio_s += audio.len() as f64 / rate;
            }
            synth_s += start.elapsed().as_secs_f64();
        }
    }
    let n = (options.runs * options.paragraphs.len()) as f64;
    Ok(Figures {
        engine: name.into(),
        first_audio_ms: first_ms / n,
        rtf: synth_s / audio_s.max(1e-9),
        audio_s: audio_s / options.runs as f64,
    })
}

fn python_figures(python: &str, voice: &std::path::Path, options: &BenchOptions) -> Result<Figures, String> {
    let mut child = Command::new(python)
        .arg(python_script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let request = serde_json::json!({ "model": voice, "paragraphs": options.paragraphs, "runs": options.runs });
    child.stdin.take().expect("piped").write_all(request.to_string().as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("failed: {}", err.lines().last().unwrap_or("no output")));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("bad output: {e}"))
}
