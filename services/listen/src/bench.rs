//! `hearth bench wake`: CPU seconds per second of audio for the wake word engine (one word and
//! several) and for Silero VAD, beside the reference Python package on the same audio in the same run.
//!
//! Both sides use one intra-op thread and the same ONNX model files. Hearth's engines are fed 20 ms
//! frames (what the bus delivers); Python gets 80 ms chunks, its recommended and cheapest input.

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_wake::detector::{DetectorSpec, WakeDetector, WordSpec};
use hearth_wake::onnx::OnnxError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::endpointer::{EndpointerSettings, Endpointer};

#[derive(Debug, Error)]
pub enum BenchError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("cannot read {path}: {why}")]
    Audio { path: PathBuf, why: String },
    #[error("{0}")]
    Setup(String),
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// openWakeWord directory (front end and words).
    pub oww_dir: PathBuf,
    /// Word classifier files in `oww_dir`; the first is the one-word case, all of them the many-word case.
    pub words: Vec<PathBuf>,
    /// Silero VAD model.
    pub vad_model: PathBuf,
    pub onnxruntime: PathBuf,
    /// 16 kHz mono WAV; repeated to `seconds`.
    pub audio: PathBuf,
    pub seconds: f64,
    /// Python with `openwakeword` for the reference column; `None` skips it.
    pub python: Option<String>,
    /// `fixtures/wake/oww_reference.py`.
    pub reference_script: PathBuf,
}

/// One measurement: CPU seconds spent per second of audio (lower is cheaper; 1.0 is one full core).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchRow {
    pub what: String,
    pub hearth_cpu_per_audio_s: f64,
    /// The reference Python package on the same audio, when it ran.
    pub python_cpu_per_audio_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchReport {
    pub audio_s: f64,
    pub rows: Vec<BenchRow>,
    /// Why the Python column is empty, if it is.
    pub python_note: Option<String>,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "CPU seconds per second of audio ({:.0} s of audio, one thread)", self.audio_s)?;
        writeln!(f, "{:<28} {:>12} {:>12} {:>8}", "", "hearth", "python", "ratio")?;
        for r in &self.rows {
            let (py, ratio) = match r.python_cpu_per_audio_s {
                Some(p) => (format!("{p:.4}"), format!("{:.1}x", p / r.hearth_cpu_per_audio_s.max(1e-9))),
                None => ("-".into(), "-".into()),
            };
            writeln!(f, "{:<28} {:>12.4} {:>12} {:>8}", r.what, r.hearth_cpu_per_audio_s, py, ratio)?;
        }
        if let Some(note) = &self.python_note {
            writeln!(f, "python: {note}")?;
        }
        Ok(())
    }
}

/// Process CPU time (user + system), seconds.
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a rusage into the pointer it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn read_audio(path: &Path, seconds: f64) -> Result<Vec<i16>, BenchError> {
    let bad = |why: String| BenchError::Audio { path: path.to_path_buf(), why };
    let mut reader = hound::WavReader::open(path).map_err(|e| bad(e.to_string()))?;
    let spec = reader.spec();
    if (spec.sample_rate, spec.channels, spec.bits_per_sample) != (16_000, 1, 16) {
        return Err(bad("need 16 kHz mono s16".into()));
    }
    let clip: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>().map_err(|e| bad(e.to_string()))?;
    if clip.is_empty() {
        return Err(bad("no samples".into()));
    }
    let n = (seconds * 16_000.0) as usize;
    Ok(clip.iter().copied().cycle().take(n).collect())
}

fn wake_cost(options: &BenchOptions, words: &[PathBuf], audio: &[i16]) -> Result<f64, BenchError> {
    let specs = words
        .iter()
        .map(|m| WordSpec { name: m.display().to_string(), model: m.clone(), threshold: 0.5, patience: 1, refractory_ms: 2000 })
        .collect();
    let mut detector = WakeDetector::new(&DetectorSpec::in_dir(&options.oww_dir, specs, options.onnxruntime.clone()))?;
    let start = cpu_seconds();
    for frame in audio.chunks(320) {
        std::hint::black_box(detector.process(frame));
    }
    Ok((cpu_seconds() - start) / (audio.len() as f64 / 16_000.0))
}

fn vad_cost(options: &BenchOptions, audio: &[i16]) -> Result<f64, BenchError> {
    // No ending: measure the VAD itself over the whole audio.
    let settings = EndpointerSettings {
        max_length_ms: u64::MAX,
        no_speech_timeout_ms: u64::MAX,
        end_silence_ms: u64::MAX,
        ..EndpointerSettings::default()
    };
    let mut endpointer = Endpointer::load(&options.vad_model, &options.onnxruntime, settings)?;
    endpointer.start(None);
    let start = cpu_seconds();
    for frame in audio.chunks(320) {
        std::hint::black_box(endpointer.push(frame));
    }
    Ok((cpu_seconds() - start) / (audio.len() as f64 / 16_000.0))
}

#[derive(Deserialize)]
struct PythonNumbers {
    wake_1: f64,
    wake_n: f64,
    vad: Option<f64>,
}

fn python_cost(options: &BenchOptions, python: &str) -> Result<PythonNumbers, String> {
    let mut cmd = Command::new(python);
    cmd.arg(&options.reference_script).arg("bench").arg("--model-dir").arg(&options.oww_dir);
    for w in &options.words {
        cmd.arg("--word").arg(w);
    }
    cmd.arg("--vad").arg(&options.vad_model).arg("--seconds").arg(options.seconds.to_string()).arg(&options.audio);
    let out = cmd.output().map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("reference script failed: {}", err.lines().last().unwrap_or("")));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("reference script output: {e}"))
}

/// Runs every measurement.
pub fn bench_wake(options: &BenchOptions) -> Result<BenchReport, BenchError> {
    if options.words.is_empty() {
        return Err(BenchError::Setup("no word models to measure".into()));
    }
    let audio = read_audio(&options.audio, options.seconds)?;
    let n = options.words.len();
    let mut rows = vec![
        BenchRow { what: "wake, 1 word".into(), hearth_cpu_per_audio_s: wake_cost(options, &options.words[..1], &audio)?, python_cpu_per_audio_s: None },
        BenchRow { what: format!("wake, {n} words"), hearth_cpu_per_audio_s: wake_cost(options, &options.words, &audio)?, python_cpu_per_audio_s: None },
        BenchRow { what: "vad (silero)".into(), hearth_cpu_per_audio_s: vad_cost(options, &audio)?, python_cpu_per_audio_s: None },
    ];
    let python_note = match &options.python {
        None => "not run".to_string(),
        Some(python) => match python_cost(options, python) {
            Ok(p) => {
                rows[0].python_cpu_per_audio_s = Some(p.wake_1);
                rows[1].python_cpu_per_audio_s = Some(p.wake_n);
                rows[2].python_cpu_per_audio_s = p.vad;
                "openwakeword 0.6 (ONNX); silero through onnxruntime as silero-vad's OnnxWrapper streams".to_string()
            }
            Err(e) => e,
        },
    };
    let python_note = Some(python_note);
    Ok(BenchReport { audio_s: audio.len() as f64 / 16_000.0, rows, python_note })
}
