//! `hearth bench tts`: real-time factor and time to first audio for the Piper path and the espeak-ng
//! voice, with Python piper-tts on the same Piper voice in the same run for comparison.
//!
//! Time to first audio is measured the way the service streams: a paragraph arrives as one text, is
//! normalized and cut into sentences, and the clock stops when the first sentence's audio exists.
//! The real-time factor is synthesis time over audio time for every sentence (below 1 is faster than
//! real time). Each figure is the median over the runs, which a loaded machine disturbs least.
//!
//! The same run compares phoneme ids: every paragraph and [`ID_SENTENCES`] through Hearth's phonemizer
//! and through piper-tts's (`fixtures/tts/piper_reference.py`) for the same voice config.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;

use crate::engine::Engine;
use crate::espeak::Espeak;
use crate::phonemes::VoiceConfig;
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
    /// espeak-ng data directory (the folder holding `espeak-ng-data`); None: the library's default.
    pub espeak_data: Option<PathBuf>,
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
            espeak_data: None,
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

/// Sentences whose phoneme ids the bench (and the real-voice test) compares with piper-tts's, beside
/// the bench paragraphs: assistant replies with numbers, abbreviations, questions and clause marks.
pub const ID_SENTENCES: &[&str] = &[
    "Hello, world.",
    "How are you today?",
    "I set a timer for ten minutes.",
    "It's 7:45 a.m. and 21 degrees outside.",
    "Dr. Smith lives on Main St. in Boston.",
    "Wait... what did you say?",
    "She said: \"Let's go now.\"",
    "Well, I don't know; maybe.",
    "Tomorrow: cloudy, a high of 14, light rain.",
    "The Eiffel Tower is 330 metres tall!",
    "Your timer is done. Shall I set another one?",
    "Sorry, I didn't catch that.",
];

/// Figures for one engine.
#[derive(Debug, Clone, Deserialize)]
pub struct Figures {
    pub engine: String,
    /// Time from text in to the first sentence's audio, milliseconds (median run's mean over paragraphs).
    pub first_audio_ms: f64,
    /// Synthesis time over audio time, all sentences (median run).
    pub rtf: f64,
    /// Audio produced per run, seconds.
    pub audio_s: f64,
}

/// How many texts got exactly piper-tts's phoneme ids.
#[derive(Debug, Clone, PartialEq)]
pub struct IdsAgreement {
    pub identical: usize,
    pub total: usize,
    /// Texts whose ids differ.
    pub differing: Vec<String>,
    /// piper-tts's version and the espeak-ng it phonemizes with.
    pub reference: String,
    /// The espeak-ng Hearth phonemized with.
    pub ours: String,
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub voice: PathBuf,
    pub runs: usize,
    pub rows: Vec<Figures>,
    /// Why the Python comparison is missing, when it is.
    pub python_note: Option<String>,
    /// Phoneme ids against piper-tts, when it ran.
    pub ids: Option<IdsAgreement>,
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
        let hearth = self.rows.iter().find(|r| r.engine.starts_with("hearth piper"));
        let python = self.rows.iter().find(|r| r.engine == "python piper-tts");
        if let (Some(h), Some(p)) = (hearth, python) {
            writeln!(
                f,
                "hearth / piper-tts: synthesis time {:.2}x, first audio {:.2}x (goal <= 1.0x)",
                h.rtf / p.rtf.max(1e-12),
                h.first_audio_ms / p.first_audio_ms.max(1e-12)
            )?;
        }
        if let Some(ids) = &self.ids {
            writeln!(
                f,
                "phoneme ids identical to piper-tts: {}/{} texts (piper-tts {}; hearth espeak-ng {})",
                ids.identical, ids.total, ids.reference, ids.ours
            )?;
            for text in &ids.differing {
                writeln!(f, "  differs: {text:?}")?;
            }
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

fn reference_script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/tts/piper_reference.py"))
}

pub fn bench_tts(options: &BenchOptions) -> Result<BenchReport, TtsError> {
    if options.paragraphs.is_empty() || options.runs == 0 {
        return Err(TtsError::Bench("nothing to measure: no paragraphs or zero runs".into()));
    }
    let voice_path = options.voice.clone().unwrap_or_else(fixture_voice);
    let espeak = Espeak::global(options.espeak_data.as_deref())?;
    let lib = piper::onnxruntime_path(options.onnxruntime.as_deref(), &hearth_node::config::default_data_dir());
    let env = piper::environment(&lib)?;
    let voice = PiperVoice::load(&voice_path, None, &Scales::default(), &env, options.threads)?;
    let name = format!("hearth piper:{}", voice.name);
    let voice_config = voice.config.clone();
    let mut rows = vec![measure(&name, &mut Engine::with_piper(voice, espeak.clone()), options)?];
    rows.push(measure("hearth espeak-ng:en-us", &mut Engine::with_espeak("en-us", 175, espeak.clone()), options)?);
    let mut python_note = None;
    let mut ids = None;
    match &options.python {
        Some(python) => {
            match python_figures(python, &voice_path, options) {
                Ok(f) => rows.push(f),
                Err(e) => python_note = Some(e),
            }
            let texts: Vec<&str> = options.paragraphs.iter().map(String::as_str).chain(ID_SENTENCES.iter().copied()).collect();
            let json = PathBuf::from(format!("{}.json", voice_path.display()));
            match compare_ids(python, &json, &voice_config, &espeak, &texts) {
                Ok(a) => ids = Some(a),
                Err(e) => python_note = Some(format!("{}phoneme ids: {e}", python_note.map(|n| n + "; ").unwrap_or_default())),
            }
        }
        None => python_note = Some("skipped".into()),
    }
    Ok(BenchReport { voice: voice_path, runs: options.runs, rows, python_note, ids })
}

/// Phoneme ids of each text from Hearth (`config` on `espeak`) and from piper-tts as shipped (its own
/// espeak-ng and data), for the voice config at `config_json`.
pub fn compare_ids(python: &str, config_json: &Path, config: &VoiceConfig, espeak: &Espeak, texts: &[&str]) -> Result<IdsAgreement, String> {
    let mut ours = Vec::with_capacity(texts.len());
    for t in texts {
        ours.push(config.text_to_ids(espeak, t).map_err(|e| e.to_string())?);
    }
    let request = serde_json::json!({ "config": config_json, "sentences": texts });
    let reply = run_python(python, &reference_script(), &request)?;
    let results = reply["results"].as_array().ok_or("piper_reference.py: no results")?;
    if results.len() != texts.len() {
        return Err(format!("piper_reference.py answered {} results for {} texts", results.len(), texts.len()));
    }
    let mut differing = Vec::new();
    for ((text, mine), r) in texts.iter().zip(&ours).zip(results) {
        let theirs: Vec<Vec<i64>> = serde_json::from_value(r["bundled"].clone()).map_err(|e| format!("piper_reference.py: {e}"))?;
        if &theirs != mine {
            differing.push(text.to_string());
        }
    }
    Ok(IdsAgreement {
        identical: texts.len() - differing.len(),
        total: texts.len(),
        differing,
        reference: format!(
            "{} with espeak-ng {}",
            reply["piper_tts_version"].as_str().unwrap_or("?"),
            reply["bundled_espeak_version"].as_str().unwrap_or("?")
        ),
        ours: espeak.version.clone(),
    })
}

/// Runs a reference script with `request` as JSON on stdin and returns its JSON answer.
fn run_python(python: &str, script: &Path, request: &serde_json::Value) -> Result<serde_json::Value, String> {
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    child.stdin.take().expect("piped").write_all(request.to_string().as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{} failed: {}", script.display(), err.lines().last().unwrap_or("no output")));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("bad output from {}: {e}", script.display()))
}

fn measure(name: &str, engine: &mut Engine, options: &BenchOptions) -> Result<Figures, TtsError> {
    let rate = engine.sample_rate_hz() as f64;
    for p in &options.paragraphs {
        for piece in engine.pieces(p) {
            engine.synthesize(&piece)?;
        }
    }
    // Per run: (mean first audio ms over paragraphs, synthesis s, audio s).
    let mut runs = Vec::with_capacity(options.runs);
    for _ in 0..options.runs {
        let (mut first_ms, mut synth_s, mut audio_s) = (0.0, 0.0, 0.0);
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
        runs.push((first_ms / options.paragraphs.len() as f64, synth_s, audio_s));
    }
    let first = median(runs.iter().map(|r| r.0).collect());
    let rtf = median(runs.iter().map(|r| r.1 / r.2.max(1e-9)).collect());
    Ok(Figures { engine: name.into(), first_audio_ms: first, rtf, audio_s: runs[0].2 })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn python_figures(python: &str, voice: &Path, options: &BenchOptions) -> Result<Figures, String> {
    let request = serde_json::json!({ "model": voice, "paragraphs": options.paragraphs, "runs": options.runs });
    let reply = run_python(python, &python_script(), &request)?;
    serde_json::from_value(reply).map_err(|e| format!("bad output: {e}"))
}
