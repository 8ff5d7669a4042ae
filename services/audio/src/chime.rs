//! The chimes, generated in code: short sequences of pure sine tones between 600 and 1500 Hz, each
//! with a soft raised-cosine attack and an exponential, bell-like decay. No harmonics, no tremolo,
//! nothing speech-like, so a wake word model never mistakes a chime for its word.

use std::f64::consts::PI;

use hearth_bus::audio::ChimeKind;

/// One tone of a chime.
struct Note {
    /// Start within the chime, milliseconds.
    at_ms: f64,
    freq_hz: f64,
    /// How long it sounds, milliseconds (the decay reaches about -40 dB by then).
    length_ms: f64,
    /// Peak amplitude, fraction of full scale.
    peak: f64,
}

const fn note(at_ms: f64, freq_hz: f64, length_ms: f64, peak: f64) -> Note {
    Note { at_ms, freq_hz, length_ms, peak }
}

// Rising A5–E6 for listening, falling D6–A5 for got it, C6–E6 bells for a timer, falling F5–D#5 for
// an error: all inside 600–1500 Hz.
const LISTENING: &[Note] = &[note(0.0, 880.0, 180.0, 0.28), note(90.0, 1318.5, 220.0, 0.26)];
const GOT_IT: &[Note] = &[note(0.0, 1174.7, 160.0, 0.24), note(80.0, 880.0, 200.0, 0.24)];
const TIMER: &[Note] = &[
    note(0.0, 1046.5, 260.0, 0.30),
    note(160.0, 1318.5, 260.0, 0.28),
    note(320.0, 1046.5, 260.0, 0.30),
    note(480.0, 1318.5, 320.0, 0.28),
    note(800.0, 1046.5, 260.0, 0.30),
    note(960.0, 1318.5, 400.0, 0.28),
];
const ERROR: &[Note] = &[note(0.0, 698.5, 220.0, 0.28), note(180.0, 622.3, 320.0, 0.28)];

/// Soft attack, milliseconds: long enough not to click, short enough to sound like a bell.
const ATTACK_MS: f64 = 6.0;

/// The chime `kind` as mono s16 samples at `sample_rate_hz`. `Unknown` renders nothing.
pub fn render(kind: ChimeKind, sample_rate_hz: u32) -> Vec<i16> {
    let notes = match kind {
        ChimeKind::Listening => LISTENING,
        ChimeKind::GotIt => GOT_IT,
        ChimeKind::Timer => TIMER,
        ChimeKind::Error => ERROR,
        ChimeKind::Unknown => return Vec::new(),
    };
    let rate = sample_rate_hz.max(1) as f64;
    let end_ms = notes.iter().map(|n| n.at_ms + n.length_ms).fold(0.0, f64::max);
    let total = (end_ms * rate / 1000.0).ceil() as usize;
    let mut mix = vec![0.0f64; total];
    for n in notes {
        let start = (n.at_ms * rate / 1000.0).round() as usize;
        let len = ((n.length_ms * rate / 1000.0) as usize).min(total - start.min(total));
        let attack = (ATTACK_MS * rate / 1000.0).max(1.0);
        // Decay to -40 dB (1 %) at the end of the note.
        let tau = len as f64 / (100f64).ln();
        for i in 0..len {
            let t = i as f64;
            let rise = if t < attack { 0.5 - 0.5 * (PI * t / attack).cos() } else { 1.0 };
            // A short cosine fade over the last 5 ms takes the tail to exactly zero.
            let tail = len as f64 - t;
            let fade_len = 0.005 * rate;
            let fade = if tail < fade_len { 0.5 - 0.5 * (PI * tail / fade_len).cos() } else { 1.0 };
            let env = rise * (-t / tau).exp() * fade;
            mix[start + i] += n.peak * env * (2.0 * PI * n.freq_hz * t / rate).sin();
        }
    }
    mix.into_iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16).collect()
}

/// Every chime that renders sound.
pub const ALL: [ChimeKind; 4] = [ChimeKind::Listening, ChimeKind::GotIt, ChimeKind::Timer, ChimeKind::Error];

#[cfg(test)]
mod tests {
    use super::*;

    /// Energy of `samples` at `freq` (a single DFT bin), normalised by length.
    fn tone_energy(samples: &[i16], rate: u32, freq: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &s) in samples.iter().enumerate() {
            let ph = 2.0 * PI * freq * i as f64 / rate as f64;
            re += s as f64 * ph.cos();
            im += s as f64 * ph.sin();
        }
        (re * re + im * im).sqrt() / samples.len() as f64
    }

    #[test]
    fn chimes_are_short_soft_and_start_and_end_silent() {
        for kind in ALL {
            let s = render(kind, 16_000);
            let ms = s.len() as f64 / 16.0;
            assert!((150.0..=1500.0).contains(&ms), "{kind:?}: {ms} ms");
            let peak = s.iter().map(|v| v.unsigned_abs()).max().unwrap();
            assert!(peak > 3000 && peak < 20000, "{kind:?}: peak {peak}");
            assert!(s[0].abs() < 100, "{kind:?} starts with a click");
            assert!(s[s.len() - 1].abs() < 100, "{kind:?} ends with a click");
        }
        assert!(render(ChimeKind::Unknown, 16_000).is_empty());
    }

    #[test]
    fn energy_stays_between_600_and_1500_hz() {
        for kind in ALL {
            let s = render(kind, 48_000);
            let in_band: f64 = (600..=1500).step_by(10).map(|f| tone_energy(&s, 48_000, f as f64)).sum::<f64>();
            let out_band: f64 = (100..600)
                .step_by(10)
                .chain((1600..6000).step_by(10))
                .map(|f| tone_energy(&s, 48_000, f as f64))
                .sum::<f64>();
            assert!(out_band < in_band * 0.15, "{kind:?}: in {in_band:.1} out {out_band:.1}");
        }
    }

    #[test]
    fn length_follows_the_rate() {
        let a = render(ChimeKind::Timer, 16_000).len() as f64 / 16_000.0;
        let b = render(ChimeKind::Timer, 44_100).len() as f64 / 44_100.0;
        assert!((a - b).abs() < 0.001);
    }
}
