//! Test speech and noise made on the spot with espeak-ng and sox (Debian packages): a "microphone"
//! WAV for whole-turn tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// 16 kHz mono s16 samples of `text` spoken by espeak-ng (`voice` like `en-us` or `en-us+m3`).
pub fn speak(text: &str, voice: &str, dir: &Path) -> Vec<i16> {
    let raw = dir.join(format!("espeak-{}.wav", hearth_bus::ids::new_id()));
    let status = Command::new("espeak-ng").args(["-v", voice, "-s", "150", "-w"]).arg(&raw).arg(text).status();
    assert!(status.is_ok_and(|s| s.success()), "espeak-ng failed: apt-get install espeak-ng");
    let out = dir.join(format!("speech-{}.wav", hearth_bus::ids::new_id()));
    sox(&[raw.to_str().unwrap(), "-r", "16000", "-c", "1", "-b", "16", out.to_str().unwrap()]);
    read_wav(&out)
}

/// `seconds` of brown noise at `gain_db` (repeatable: sox -R).
pub fn brown_noise(seconds: f32, gain_db: f32, dir: &Path) -> Vec<i16> {
    let out = dir.join(format!("noise-{}.wav", hearth_bus::ids::new_id()));
    let (s, g) = (seconds.to_string(), gain_db.to_string());
    sox(&["-n", "-r", "16000", "-c", "1", "-b", "16", out.to_str().unwrap(), "synth", &s, "brownnoise", "gain", &g]);
    read_wav(&out)
}

/// `noise` scaled to sit `snr_db` below the loudness (RMS) of `speech`: a background to run under a
/// whole session.
pub fn noise_under(speech: &[i16], noise: &[i16], snr_db: f64) -> Vec<i16> {
    let scale = rms(speech) / rms(noise).max(1e-9) / 10f64.powf(snr_db / 20.0);
    noise.iter().map(|&n| (n as f64 * scale).clamp(-32768.0, 32767.0) as i16).collect()
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Silence of `seconds` at 16 kHz.
pub fn silence(seconds: f32) -> Vec<i16> {
    vec![0; (seconds * 16_000.0) as usize]
}

/// Adds `noise` under `speech` at `snr_db` (noise repeated or cut to length).
pub fn mix_at_snr(speech: &[i16], noise: &[i16], snr_db: f64) -> Vec<i16> {
    let speech_rms = rms(speech);
    let noise_rms = rms(noise).max(1e-9);
    let scale = speech_rms / noise_rms / 10f64.powf(snr_db / 20.0);
    speech
        .iter()
        .enumerate()
        .map(|(i, &s)| (s as f64 + noise[i % noise.len()] as f64 * scale).clamp(-32768.0, 32767.0) as i16)
        .collect()
}

pub fn write_wav(path: &Path, samples: &[i16]) -> PathBuf {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write wav");
    }
    w.finalize().expect("finalize wav");
    path.to_path_buf()
}

/// Samples of a 16-bit WAV (any channel count: first channel).
pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let channels = r.spec().channels as usize;
    r.samples::<i16>().step_by(channels).map(|s| s.expect("wav sample")).collect()
}

fn sox(args: &[&str]) {
    let status = Command::new("sox").arg("-R").args(args).status();
    assert!(status.is_ok_and(|s| s.success()), "sox failed: apt-get install sox");
}
