//! Audio for training: 16 kHz mono f32 (full scale ±1) in and out of WAV files, resampling, trimming,
//! level checks, synthetic noises (white, pink, brown, a vacuum-like hum), mixing at a chosen SNR, a
//! simple room reverb, speed and gain changes. Augmentation draws from a seeded generator so a rerun
//! builds the same clips (and finds them in the feature cache).

use std::path::Path;

use hearth_audio::resample::{downmix_into, StreamResampler};
use hearth_audio::wav::WavSource;
use rand::Rng;

use crate::WakewordError;

/// The rate of every model in the front end.
pub const RATE_HZ: u32 = 16_000;

/// A WAV of any rate and channel count as 16 kHz mono.
pub fn read_wav(path: &Path) -> Result<Vec<f32>, WakewordError> {
    let err = |e: hearth_audio::AudioError| WakewordError::file(path, e);
    let mut source = WavSource::open(path).map_err(err)?;
    let channels = source.channels() as usize;
    let mut interleaved = Vec::new();
    let mut block = Vec::new();
    loop {
        block.clear();
        if source.read(8192, &mut block).map_err(err)? == 0 {
            break;
        }
        interleaved.extend_from_slice(&block);
    }
    let mut mono = Vec::with_capacity(interleaved.len() / channels.max(1));
    downmix_into(&interleaved, channels, &mut mono);
    resample(&mono, source.rate_hz())
}

/// Writes 16 kHz mono s16.
pub fn write_wav(path: &Path, samples: &[f32]) -> Result<(), WakewordError> {
    let spec = hound::WavSpec { channels: 1, sample_rate: RATE_HZ, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).map_err(|e| WakewordError::file(path, e))?;
    for &s in samples {
        w.write_sample(to_s16(s)).map_err(|e| WakewordError::file(path, e))?;
    }
    w.finalize().map_err(|e| WakewordError::file(path, e))
}

pub fn to_s16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

pub fn from_s16(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| s as f32 / 32768.0).collect()
}

/// Mono audio at `rate_hz` to 16 kHz (the audio service's own resampler).
pub fn resample(mono: &[f32], rate_hz: u32) -> Result<Vec<f32>, WakewordError> {
    if rate_hz == RATE_HZ {
        return Ok(mono.to_vec());
    }
    let bad = |e: hearth_audio::AudioError| WakewordError::Training(format!("resampling from {rate_hz} Hz: {e}"));
    let mut r = StreamResampler::new(rate_hz, RATE_HZ).map_err(bad)?;
    let mut out = Vec::with_capacity(mono.len() * RATE_HZ as usize / rate_hz as usize + 1);
    r.push(mono, &mut out).map_err(bad)?;
    r.flush(&mut out).map_err(bad)?;
    Ok(out)
}

pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}

pub fn db(v: f32) -> f32 {
    20.0 * v.max(1e-9).log10()
}

/// The part of `x` between the first and last 10 ms frame louder than 30 dB under the loudest one.
pub fn trim_silence(x: &[f32]) -> &[f32] {
    const FRAME: usize = 160;
    let frames: Vec<f32> = x.chunks(FRAME).map(rms).collect();
    let loudest = frames.iter().copied().fold(0.0, f32::max);
    if loudest <= 0.0 {
        return &x[..0];
    }
    let floor = loudest * 0.0316; // -30 dB
    let first = frames.iter().position(|&f| f > floor).unwrap_or(0);
    let last = frames.iter().rposition(|&f| f > floor).unwrap_or(0);
    &x[first * FRAME..((last + 1) * FRAME).min(x.len())]
}

/// What a take sounds like, for the level check of `record`.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Peak, dB full scale.
    pub peak_dbfs: f32,
    /// Loudness of the spoken part (frames within 30 dB of the loudest), dB full scale.
    pub speech_dbfs: f32,
    /// Milliseconds between the first and last loud frame.
    pub speech_ms: u32,
    /// Fraction of samples at or within 0.1 % of full scale.
    pub clipped_fraction: f32,
}

/// Why a take must be taken again, if it must.
#[derive(Debug, Clone, PartialEq)]
pub enum LevelProblem {
    Silent,
    TooQuiet { speech_dbfs: f32 },
    Clipped { percent: f32 },
    TooShort { speech_ms: u32 },
}

impl std::fmt::Display for LevelProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LevelProblem::Silent => write!(f, "silent: nothing was heard (is the microphone muted?)"),
            LevelProblem::TooQuiet { speech_dbfs } => write!(f, "too quiet ({speech_dbfs:.0} dBFS): speak up or move closer"),
            LevelProblem::Clipped { percent } => write!(f, "clipped ({percent:.1} % of samples at full scale): move back or lower the gain"),
            LevelProblem::TooShort { speech_ms } => write!(f, "too short ({speech_ms} ms of sound): say the whole phrase"),
        }
    }
}

impl Level {
    pub fn of(x: &[f32]) -> Level {
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let clipped = x.iter().filter(|v| v.abs() >= 0.999).count();
        let speech = trim_silence(x);
        Level {
            peak_dbfs: db(peak),
            speech_dbfs: db(rms(speech)),
            speech_ms: (speech.len() as u64 * 1000 / RATE_HZ as u64) as u32,
            clipped_fraction: if x.is_empty() { 0.0 } else { clipped as f32 / x.len() as f32 },
        }
    }

    /// A phrase take is usable when it is heard, not clipped and long enough to hold a word.
    pub fn problem(&self, min_speech_ms: u32) -> Option<LevelProblem> {
        if self.peak_dbfs < -60.0 {
            Some(LevelProblem::Silent)
        } else if self.speech_dbfs < -45.0 {
            Some(LevelProblem::TooQuiet { speech_dbfs: self.speech_dbfs })
        } else if self.clipped_fraction > 0.001 {
            Some(LevelProblem::Clipped { percent: self.clipped_fraction * 100.0 })
        } else if self.speech_ms < min_speech_ms {
            Some(LevelProblem::TooShort { speech_ms: self.speech_ms })
        } else {
            None
        }
    }
}

/// Synthetic noises that stand in for a room when none was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NoiseKind {
    White,
    Pink,
    Brown,
    /// Brown noise with 120 and 240 Hz hum and a slow tremolo, like a vacuum cleaner or a fan.
    Vacuum,
}

pub const NOISE_KINDS: [NoiseKind; 4] = [NoiseKind::White, NoiseKind::Pink, NoiseKind::Brown, NoiseKind::Vacuum];

/// `n` samples of `kind` at about -20 dBFS.
pub fn noise(kind: NoiseKind, n: usize, rng: &mut impl Rng) -> Vec<f32> {
    let mut white = || rng.gen_range(-1.0f32..1.0);
    let mut out: Vec<f32> = match kind {
        NoiseKind::White => (0..n).map(|_| white()).collect(),
        NoiseKind::Pink => {
            // Paul Kellet's economy filter: three one-pole sections approximate 1/f.
            let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
            (0..n)
                .map(|_| {
                    let w = white();
                    b0 = 0.99765 * b0 + w * 0.0990460;
                    b1 = 0.96300 * b1 + w * 0.2965164;
                    b2 = 0.57000 * b2 + w * 1.0526913;
                    b0 + b1 + b2 + w * 0.1848
                })
                .collect()
        }
        NoiseKind::Brown | NoiseKind::Vacuum => {
            let mut acc = 0.0f32;
            let mut v: Vec<f32> = (0..n)
                .map(|_| {
                    acc = (acc + white() * 0.02) * 0.998;
                    acc
                })
                .collect();
            if kind == NoiseKind::Vacuum {
                let level = rms(&v).max(1e-6);
                for (i, s) in v.iter_mut().enumerate() {
                    let t = i as f32 / RATE_HZ as f32;
                    let hum = (2.0 * std::f32::consts::PI * 120.0 * t).sin() + 0.5 * (2.0 * std::f32::consts::PI * 240.0 * t).sin();
                    let tremolo = 1.0 + 0.2 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
                    *s = (*s + hum * level * 0.8) * tremolo;
                }
            }
            v
        }
    };
    let scale = 0.1 / rms(&out).max(1e-9);
    out.iter_mut().for_each(|s| *s *= scale);
    out
}

/// `noise` (looped or cut to length) added to `signal` so that the signal is `snr_db` above it.
pub fn mix_at_snr(signal: &[f32], noise: &[f32], snr_db: f32, offset: usize) -> Vec<f32> {
    if noise.is_empty() {
        return signal.to_vec();
    }
    let speech = rms(trim_silence(signal)).max(1e-6);
    let n_rms = rms(noise).max(1e-9);
    let scale = speech / n_rms / 10f32.powf(snr_db / 20.0);
    signal.iter().enumerate().map(|(i, s)| s + noise[(offset + i) % noise.len()] * scale).collect()
}

/// A small room: the direct sound plus a few hundred reflections with exponentially decaying, random
/// amplitudes over `rt60_s` (the time they take to fall by 60 dB). Sparse, so it costs little.
pub fn reverb(signal: &[f32], rt60_s: f32, rng: &mut impl Rng) -> Vec<f32> {
    let len = (rt60_s * RATE_HZ as f32) as usize;
    let mut taps: Vec<(usize, f32)> = vec![(0, 1.0)];
    for _ in 0..240 {
        let d = rng.gen_range(RATE_HZ as usize / 400..len.max(RATE_HZ as usize / 200));
        let decay = 10f32.powf(-3.0 * d as f32 / len.max(1) as f32);
        taps.push((d, decay * rng.gen_range(-0.25..0.25)));
    }
    let mut out = vec![0.0f32; signal.len()];
    for (d, a) in taps {
        for i in d..signal.len() {
            out[i] += signal[i - d] * a;
        }
    }
    let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let orig = signal.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        out.iter_mut().for_each(|s| *s *= orig / peak);
    }
    out
}

/// Plays `x` `factor` times as fast (pitch moves with it, like a tape), by linear interpolation.
pub fn change_speed(x: &[f32], factor: f32) -> Vec<f32> {
    if x.is_empty() || (factor - 1.0).abs() < 1e-4 {
        return x.to_vec();
    }
    let n = (x.len() as f32 / factor) as usize;
    (0..n)
        .map(|i| {
            let pos = i as f32 * factor;
            let j = pos as usize;
            let frac = pos - j as f32;
            let a = x[j.min(x.len() - 1)];
            let b = x[(j + 1).min(x.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

/// Scales to `peak_dbfs` peak.
pub fn set_peak(x: &mut [f32], peak_dbfs: f32) {
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        let g = 10f32.powf(peak_dbfs / 20.0) / peak;
        x.iter_mut().for_each(|s| *s *= g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tone(ms: usize, amp: f32) -> Vec<f32> {
        (0..ms * 16).map(|i| amp * (i as f32 * 0.2).sin()).collect()
    }

    #[test]
    fn levels_flag_silent_quiet_clipped_and_short_takes() {
        assert_eq!(Level::of(&vec![0.0; 16000]).problem(300), Some(LevelProblem::Silent));
        assert!(matches!(Level::of(&tone(800, 0.002)).problem(300), Some(LevelProblem::TooQuiet { .. })));
        let clipped: Vec<f32> = tone(800, 3.0).into_iter().map(|s| s.clamp(-1.0, 1.0)).collect();
        assert!(matches!(Level::of(&clipped).problem(300), Some(LevelProblem::Clipped { .. })));
        let mut short = vec![0.0; 16000];
        short[8000..9600].copy_from_slice(&tone(100, 0.3));
        assert!(matches!(Level::of(&short).problem(300), Some(LevelProblem::TooShort { .. })));
        assert_eq!(Level::of(&tone(800, 0.3)).problem(300), None);
    }

    #[test]
    fn mixing_hits_the_snr() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let s = tone(1000, 0.3);
        let n = noise(NoiseKind::Pink, 8000, &mut rng);
        let mixed = mix_at_snr(&s, &n, 10.0, 0);
        let added: Vec<f32> = mixed.iter().zip(&s).map(|(m, s)| m - s).collect();
        let snr = db(rms(&s)) - db(rms(&added));
        assert!((snr - 10.0).abs() < 0.5, "{snr}");
        for kind in NOISE_KINDS {
            let n = noise(kind, 16000, &mut rng);
            assert!((db(rms(&n)) + 20.0).abs() < 0.5 && n.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn speed_reverb_and_trim() {
        assert_eq!(change_speed(&tone(1000, 0.3), 1.25).len(), 12800);
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let r = reverb(&tone(500, 0.3), 0.3, &mut rng);
        assert_eq!(r.len(), 8000);
        let mut padded = vec![0.0; 3200];
        padded.extend(tone(500, 0.3));
        padded.extend(vec![0.0; 3200]);
        assert!(trim_silence(&padded).len().abs_diff(8000) <= 320);
        assert!(resample(&vec![0.1; 22050], 22050).unwrap().len().abs_diff(16000) <= 1);
    }
}
