//! Helpers for tests here and in other crates: finding `../shared` and the ONNX Runtime library,
//! reading WAVs, making speech (espeak-ng + sox) and noise, and [`assert_quiet_on`], which checks that
//! a sound (a chime, the assistant's own voice) can never wake the assistant.
//!
//! Missing prerequisites follow the project rule: outside CI the caller skips with a plain message;
//! under `CI=true` these helpers panic instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::detector::{DetectorSpec, WakeDetector, WordSpec};
use crate::onnx;

/// Highest score any real model may give a sound that must never wake the assistant.
pub const QUIET_MAX_SCORE: f32 = 0.05;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Prints why a test is skipped, or fails it under CI. Returns `None` so callers can `?`-style skip.
pub fn skip<T>(why: &str) -> Option<T> {
    if in_ci() {
        panic!("{why} (required under CI=true)");
    }
    eprintln!("skipping: {why}");
    None
}

/// `$HEARTH_SHARED`, else `../shared` beside the workspace.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    if dir.is_dir() {
        Some(dir)
    } else {
        skip("../shared not found (set HEARTH_SHARED)")
    }
}

/// The real openWakeWord model directory in `../shared/models`.
pub fn real_oww_dir() -> Option<PathBuf> {
    let dir = shared_dir()?.join("models/openwakeword");
    if dir.join("melspectrogram.onnx").is_file() { Some(dir) } else { skip("../shared/models/openwakeword is missing") }
}

/// The committed stand-in models (`fixtures/wake/models`).
pub fn standin_models_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/wake/models"))
}

/// The ONNX Runtime library for tests: `$ORT_DYLIB_PATH`, else the install script's default.
pub fn onnxruntime() -> Option<PathBuf> {
    let data_dir = hearth_node::config::default_data_dir();
    let lib = onnx::library_path(None, &data_dir);
    if lib.is_file() {
        Some(lib)
    } else {
        skip(&format!("ONNX Runtime not found at {} (run {})", lib.display(), onnx::INSTALL_SCRIPT))
    }
}

/// Every word classifier in an openWakeWord directory (`*_v*.onnx`), named as the config names them.
pub fn word_models(dir: &Path) -> Vec<WordSpec> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.ends_with(".onnx") && name != "melspectrogram.onnx" && name != "embedding_model.onnx"
    });
    files.sort();
    files
        .into_iter()
        .map(|model| {
            let name = crate::config::WordConfig::new(&model.to_string_lossy()).word_name();
            WordSpec { name, model, threshold: 0.5, patience: 1, refractory_ms: 2000 }
        })
        .collect()
}

/// A detector with every word in `dir`.
pub fn detector_for(dir: &Path, lib: &Path) -> WakeDetector {
    let spec = DetectorSpec::in_dir(dir, word_models(dir), lib.to_path_buf());
    WakeDetector::new(&spec).unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()))
}

/// The highest score of each word over `samples` (16 kHz mono), with 1 s of silence before (so the
/// five warm-up steps cover no audio) and 1 s after (so the sound's end passes through every window).
pub fn max_scores(detector: &mut WakeDetector, samples: &[i16]) -> Vec<(String, f32)> {
    crate::clip::score_clip(detector, samples).words.into_iter().map(|w| (w.word, w.max_score)).collect()
}

/// Asserts that no real wake word model (every classifier in `../shared/models/openwakeword`) scores
/// `samples_16k` at [`QUIET_MAX_SCORE`] or more. Point it at chimes and other sounds the house plays.
/// Skips plainly when the models or ONNX Runtime are absent (fails under `CI=true`).
pub fn assert_quiet_on(samples_16k: &[i16]) {
    let (Some(dir), Some(lib)) = (real_oww_dir(), onnxruntime()) else { return };
    let mut detector = detector_for(&dir, &lib);
    for (word, score) in max_scores(&mut detector, samples_16k) {
        assert!(score < QUIET_MAX_SCORE, "{word} scored {score:.3} on audio that must never wake the assistant");
    }
}

/// Reads a 16 kHz mono s16 WAV.
pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (16_000, 1, 16), "{}", path.display());
    reader.samples::<i16>().map(|s| s.expect("wav sample")).collect()
}

/// Speech from espeak-ng, resampled to 16 kHz mono with sox. `None` (after a skip message) when either
/// tool is missing.
pub fn espeak(text: &str, voice: &str, words_per_minute: u32) -> Option<Vec<i16>> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = tempfile_dir();
    let raw = dir.join(format!("espeak-{}-{n}.wav", std::process::id()));
    let out = dir.join(format!("espeak16-{}-{n}.wav", std::process::id()));
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-s", &words_per_minute.to_string(), "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return skip("espeak-ng is not installed (apt-get install espeak-ng)");
    }
    let ok = Command::new("sox")
        .arg("-R")
        .arg(&raw)
        .args(["-r", "16000", "-c", "1", "-b", "16"])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return skip("sox is not installed (apt-get install sox)");
    }
    let samples = read_wav(&out);
    let _ = std::fs::remove_file(&raw);
    let _ = std::fs::remove_file(&out);
    Some(samples)
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("hearth-wake-tests");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A repeatable noise source (64-bit LCG); `uniform` is in [-1, 1).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// `seconds` of white noise at `rms_dbfs`.
pub fn white_noise(seconds: f64, rms_dbfs: f64, seed: u64) -> Vec<i16> {
    let mut n = Noise::new(seed);
    let raw: Vec<f64> = (0..(seconds * 16_000.0) as usize).map(|_| n.uniform()).collect();
    scale_to(&raw, rms_dbfs)
}

/// `seconds` of brown (integrated, leaky) noise at `rms_dbfs`.
pub fn brown_noise(seconds: f64, rms_dbfs: f64, seed: u64) -> Vec<i16> {
    scale_to(&brown(seconds, seed), rms_dbfs)
}

fn brown(seconds: f64, seed: u64) -> Vec<f64> {
    let mut n = Noise::new(seed);
    let mut y = 0.0;
    (0..(seconds * 16_000.0) as usize)
        .map(|_| {
            y = 0.995 * y + 0.05 * n.uniform();
            y
        })
        .collect()
}

/// A vacuum-like hum: brown noise plus 120 Hz and 240 Hz motor tones, low-passed, with a slow tremolo.
pub fn vacuum_hum(seconds: f64, rms_dbfs: f64, seed: u64) -> Vec<i16> {
    let brown = brown(seconds, seed);
    let brown_rms = rms(&brown);
    let mut lp = 0.0;
    let raw: Vec<f64> = brown
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let t = i as f64 / 16_000.0;
            let tremolo = 1.0 + 0.2 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
            let motor = (2.0 * std::f64::consts::PI * 120.0 * t).sin() + 0.6 * (2.0 * std::f64::consts::PI * 240.0 * t).sin();
            let x = tremolo * (b / brown_rms + 0.8 * motor);
            lp += 0.3 * (x - lp); // one-pole low-pass near 1.2 kHz
            lp
        })
        .collect();
    scale_to(&raw, rms_dbfs)
}

/// A chime-like arpeggio: `notes` (Hertz) of `note_ms` each with a soft attack and decay, at `peak_dbfs`.
pub fn arpeggio(notes: &[f64], note_ms: u32, peak_dbfs: f64) -> Vec<i16> {
    let per = (16 * note_ms) as usize;
    let peak = 32767.0 * 10f64.powf(peak_dbfs / 20.0);
    let mut out = Vec::with_capacity(per * notes.len());
    for f in notes {
        for i in 0..per {
            let t = i as f64 / 16_000.0;
            let env = (i as f64 / 160.0).min(1.0) * (-3.0 * i as f64 / per as f64).exp();
            let s = (2.0 * std::f64::consts::PI * f * t).sin() + 0.3 * (4.0 * std::f64::consts::PI * f * t).sin();
            out.push((peak * env * s / 1.3) as i16);
        }
    }
    out
}

/// A steady sine at `hz` and `peak_dbfs` for `seconds`.
pub fn tone(hz: f64, seconds: f64, peak_dbfs: f64) -> Vec<i16> {
    let peak = 32767.0 * 10f64.powf(peak_dbfs / 20.0);
    (0..(seconds * 16_000.0) as usize)
        .map(|i| (peak * (2.0 * std::f64::consts::PI * hz * i as f64 / 16_000.0).sin()) as i16)
        .collect()
}

/// `speech` with `noise` (looped) added at `snr_db` (speech RMS over noise RMS).
pub fn mix_at_snr(speech: &[i16], noise: &[i16], snr_db: f64) -> Vec<i16> {
    let s: Vec<f64> = speech.iter().map(|&x| x as f64).collect();
    let n: Vec<f64> = noise.iter().map(|&x| x as f64).collect();
    let gain = rms(&s) / rms(&n) / 10f64.powf(snr_db / 20.0);
    s.iter().enumerate().map(|(i, x)| (x + gain * n[i % n.len()]).clamp(-32768.0, 32767.0) as i16).collect()
}

/// Digital silence.
pub fn silence(seconds: f64) -> Vec<i16> {
    vec![0; (seconds * 16_000.0) as usize]
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt().max(1e-9)
}

fn scale_to(x: &[f64], rms_dbfs: f64) -> Vec<i16> {
    let gain = 32768.0 * 10f64.powf(rms_dbfs / 20.0) / rms(x);
    x.iter().map(|v| (v * gain).clamp(-32768.0, 32767.0) as i16).collect()
}
