//! whisper's mel filter bank, which a ggml file carries for whisper.cpp to compute its spectrogram.
//!
//! OpenAI ships it as `mel_filters.npz`, made by `librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)`:
//! Slaney's mel scale (linear below 1 kHz, logarithmic above), triangles between neighbouring mel
//! points over the 201 FFT bins, each scaled to unit area ("slaney" norm). A CTranslate2 directory does
//! not carry the table, so it is recomputed here with librosa's order of operations and roundings (the
//! triangles in f64, stored as f32, then scaled in f64 and stored as f32 again), which reproduces the
//! shipped table bit for bit.

/// whisper's sample rate, Hertz.
const SAMPLE_RATE_HZ: f64 = 16_000.0;
/// whisper's FFT length (25 ms windows).
const N_FFT: usize = 400;
/// Frequency bins of one FFT: 0 Hz to the Nyquist frequency.
pub const N_FFT_BINS: usize = N_FFT / 2 + 1;

/// Slaney's scale: 3 mels per 200 Hz up to 1 kHz (15 mels), then 27 mels per factor 6.4 in frequency.
const LINEAR_HZ_PER_MEL: f64 = 200.0 / 3.0;
const LOG_FROM_HZ: f64 = 1000.0;
const LOG_FROM_MEL: f64 = LOG_FROM_HZ / LINEAR_HZ_PER_MEL;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= LOG_FROM_HZ {
        LOG_FROM_MEL + (hz / LOG_FROM_HZ).ln() / log_step()
    } else {
        hz / LINEAR_HZ_PER_MEL
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= LOG_FROM_MEL {
        LOG_FROM_HZ * (log_step() * (mel - LOG_FROM_MEL)).exp()
    } else {
        LINEAR_HZ_PER_MEL * mel
    }
}

/// `n_mels` × 201 filter weights, row-major (one row per mel band), as whisper.cpp reads them.
pub fn filters(n_mels: usize) -> Vec<f32> {
    // numpy.linspace(lo, hi, n): i·step + lo, with the last point exactly hi.
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE_HZ / 2.0));
    let points = n_mels + 2;
    let step = (hi - lo) / (points - 1) as f64;
    let mut mel_hz: Vec<f64> = (0..points).map(|i| mel_to_hz(i as f64 * step + lo)).collect();
    mel_hz[points - 1] = mel_to_hz(hi);
    // numpy.fft.rfftfreq(400, 1/16000): bin k is at k / (n · d) Hz.
    let bin_hz = 1.0 / (N_FFT as f64 * (1.0 / SAMPLE_RATE_HZ));
    let mut out = Vec::with_capacity(n_mels * N_FFT_BINS);
    for m in 0..n_mels {
        let (left, centre, right) = (mel_hz[m], mel_hz[m + 1], mel_hz[m + 2]);
        let area_norm = 2.0 / (right - left);
        for k in 0..N_FFT_BINS {
            let f = k as f64 * bin_hz;
            let rising = -(left - f) / (centre - left);
            let falling = (right - f) / (right - centre);
            // Positive zero outside the triangle (librosa's np.maximum(0, …) never gives -0.0 there).
            let t = rising.min(falling);
            let triangle = if t > 0.0 { t as f32 } else { 0.0 };
            out.push((triangle as f64 * area_norm) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighty_bands_have_whispers_shape() {
        let f = filters(80);
        assert_eq!(f.len(), 80 * 201);
        // Every band has some weight, nothing is negative, and the DC and Nyquist bins take none.
        for band in f.chunks(201) {
            assert!(band.iter().any(|&w| w > 0.0) && band.iter().all(|&w| w >= 0.0));
        }
        assert_eq!(f[0], 0.0);
        // The first band peaks at bin 1 (40 Hz) with librosa's value.
        assert!((f[1] - 0.024_862_595).abs() < 1e-8, "{}", f[1]);
    }
}
