//! Turning an utterance's PCM into what whisper wants: 16 kHz mono f32 in -1..1.

use std::f64::consts::PI;

use thiserror::Error;

/// whisper's sample rate, Hertz.
pub const WHISPER_RATE_HZ: u32 = 16_000;

/// Why an utterance's audio cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AudioError {
    #[error("sample rate {0} Hz is outside 1000 to 384000 Hz")]
    SampleRate(u32),
    #[error("channel count {0} is outside 1 to 32")]
    Channels(u16),
    #[error("{bytes} bytes of PCM is not a whole number of {channels}-channel s16 frames")]
    Ragged { bytes: usize, channels: u16 },
}

/// Signed 16-bit little-endian interleaved PCM → 16 kHz mono f32.
pub fn to_whisper_input(pcm: &[u8], sample_rate_hz: u32, channels: u16) -> Result<Vec<f32>, AudioError> {
    if !(1000..=384_000).contains(&sample_rate_hz) {
        return Err(AudioError::SampleRate(sample_rate_hz));
    }
    if !(1..=32).contains(&channels) {
        return Err(AudioError::Channels(channels));
    }
    let frame_bytes = 2 * channels as usize;
    if pcm.len() % frame_bytes != 0 {
        return Err(AudioError::Ragged { bytes: pcm.len(), channels });
    }
    let samples: Vec<i16> = pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let mono = downmix(&samples, channels as usize);
    Ok(resample(&mono, sample_rate_hz, WHISPER_RATE_HZ))
}

/// Averages interleaved channels into one, scaled to -1..1.
pub fn downmix(samples: &[i16], channels: usize) -> Vec<f32> {
    let scale = 1.0 / (32768.0 * channels as f32);
    samples.chunks_exact(channels).map(|f| f.iter().map(|&s| s as f32).sum::<f32>() * scale).collect()
}

/// Half-width of the interpolation kernel, in zero crossings of the (lower) cutoff's sinc.
const KERNEL_HALF_ZEROS: f64 = 16.0;

/// Band-limited resampling by windowed-sinc interpolation (Blackman window). When downsampling,
/// the cutoff drops to 95 % of the new Nyquist frequency so nothing above it folds back as alias.
/// Utterances are seconds long, so a direct (non-polyphase) evaluation is fast enough.
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    if from_hz == to_hz || input.is_empty() {
        return input.to_vec();
    }
    let ratio = to_hz as f64 / from_hz as f64;
    // Cutoff as a fraction of the input Nyquist frequency.
    let cutoff = if ratio < 1.0 { 0.95 * ratio } else { 1.0 };
    let half_width = KERNEL_HALF_ZEROS / cutoff; // in input samples
    let out_len = ((input.len() as f64) * ratio).round() as usize;
    let step = 1.0 / ratio;
    (0..out_len)
        .map(|n| {
            let t = n as f64 * step;
            let first = ((t - half_width).ceil().max(0.0)) as usize;
            let last = ((t + half_width).floor() as usize).min(input.len() - 1);
            let mut acc = 0.0f64;
            for (k, &x) in input.iter().enumerate().take(last + 1).skip(first) {
                let d = k as f64 - t;
                acc += x as f64 * cutoff * sinc(cutoff * d) * blackman(d / half_width);
            }
            acc as f32
        })
        .collect()
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-9 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

/// Blackman window over -1..1 (zero outside).
fn blackman(x: f64) -> f64 {
    if x.abs() >= 1.0 {
        return 0.0;
    }
    let p = PI * (x + 1.0); // 0..2π across the window
    0.42 - 0.5 * p.cos() + 0.08 * (2.0 * p).cos()
}

/// Audio length in milliseconds for `samples` at 16 kHz.
pub fn duration_ms(samples: usize) -> u64 {
    samples as u64 * 1000 / WHISPER_RATE_HZ as u64
}

/// whisper.cpp returns nothing for input under 100 ms and is unreliable under 1 s; pad short
/// utterances with trailing silence to one second.
pub fn pad_to_min(mut samples: Vec<f32>) -> Vec<f32> {
    let min = WHISPER_RATE_HZ as usize;
    if samples.len() < min {
        samples.resize(min, 0.0);
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq_hz: f64, rate_hz: u32, seconds: f64, amplitude: f64) -> Vec<f32> {
        let n = (rate_hz as f64 * seconds) as usize;
        (0..n).map(|i| (amplitude * (2.0 * PI * freq_hz * i as f64 / rate_hz as f64).sin()) as f32).collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// Rising zero crossings, i.e. whole periods.
    fn periods(x: &[f32]) -> usize {
        x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count()
    }

    #[test]
    fn downsampling_keeps_a_tone_in_band() {
        for from in [48_000, 44_100, 22_050] {
            let x = tone(440.0, from, 1.0, 0.5);
            let y = resample(&x, from, 16_000);
            assert!((y.len() as i64 - 16_000).abs() <= 1, "{from}: {} samples", y.len());
            // Same pitch: 440 periods in one second, give or take the edges.
            assert!((periods(&y) as i64 - 440).abs() <= 1, "{from}: {} periods", periods(&y));
            // Same loudness away from the edges (0.5 / √2 ≈ 0.354).
            let mid = &y[1000..15_000];
            assert!((rms(mid) - 0.354).abs() < 0.01, "{from}: rms {}", rms(mid));
        }
    }

    #[test]
    fn downsampling_removes_what_16_khz_cannot_hold() {
        // 12 kHz is above the new 8 kHz Nyquist frequency: it must vanish, not fold to 4 kHz.
        let x = tone(12_000.0, 48_000, 1.0, 0.5);
        let y = resample(&x, 48_000, 16_000);
        assert!(rms(&y[1000..15_000]) < 0.005, "alias rms {}", rms(&y[1000..15_000]));
    }

    #[test]
    fn upsampling_keeps_pitch_and_length() {
        let x = tone(300.0, 8_000, 0.5, 0.5);
        let y = resample(&x, 8_000, 16_000);
        assert_eq!(y.len(), 8_000);
        assert!((periods(&y) as i64 - 150).abs() <= 1);
        assert!((rms(&y[500..7_500]) - 0.354).abs() < 0.01);
    }

    #[test]
    fn stereo_is_averaged_to_mono() {
        // Left loud, right silent → half amplitude; opposite phases cancel.
        let frames: Vec<i16> = (0..100).flat_map(|_| [16_384i16, 0]).collect();
        let m = downmix(&frames, 2);
        assert_eq!(m.len(), 100);
        assert!(m.iter().all(|&v| (v - 0.25).abs() < 1e-6));
        let cancel: Vec<i16> = (0..10).flat_map(|_| [1000i16, -1000]).collect();
        assert!(downmix(&cancel, 2).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn pcm_bytes_are_checked_and_converted() {
        let pcm: Vec<u8> = [i16::MAX, i16::MIN, 0].iter().flat_map(|s| s.to_le_bytes()).collect();
        let y = to_whisper_input(&pcm, 16_000, 1).unwrap();
        assert_eq!(y.len(), 3);
        assert!(y[0] > 0.999 && y[1] == -1.0 && y[2] == 0.0);
        assert_eq!(to_whisper_input(&pcm, 16_000, 2), Err(AudioError::Ragged { bytes: 6, channels: 2 }));
        assert_eq!(to_whisper_input(&pcm[..5], 16_000, 1), Err(AudioError::Ragged { bytes: 5, channels: 1 }));
        assert_eq!(to_whisper_input(&pcm, 0, 1), Err(AudioError::SampleRate(0)));
        assert_eq!(to_whisper_input(&pcm, 16_000, 0), Err(AudioError::Channels(0)));
        assert!(to_whisper_input(&[], 48_000, 2).unwrap().is_empty());
    }

    #[test]
    fn short_input_is_padded_to_a_second() {
        assert_eq!(pad_to_min(vec![0.1; 800]).len(), 16_000);
        assert_eq!(pad_to_min(vec![0.1; 20_000]).len(), 20_000);
        assert_eq!(duration_ms(24_000), 1500);
    }
}
