//! A whole recording through the engine at once: for each word its highest score and when it came,
//! and every detection, as `hearth wake score` prints them and the tests check them.
//!
//! The clip gets one second of silence before it (so the engine's five warm-up steps, which always
//! score zero, cover no audio) and one after (so a word at the very end passes through every window).

use std::fmt;

use crate::detector::{WakeDetector, SAMPLE_RATE_HZ};

/// Silence fed before and after the clip, in samples (one second).
const PAD_SAMPLES: usize = SAMPLE_RATE_HZ as usize;
/// Samples fed per call, as the microphone delivers them (20 ms).
const FRAME_SAMPLES: usize = 320;

/// One word's result over a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct WordScore {
    pub word: String,
    /// Highest score of any 80 ms step, 0 to 1.
    pub max_score: f32,
    /// End of the step with the highest score, milliseconds from the start of the clip.
    pub max_at_ms: i64,
    /// When the word fired (end of the firing step), milliseconds from the start of the clip.
    pub detections_ms: Vec<i64>,
}

/// Every loaded word's result over a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipScores {
    /// Length of the clip itself, milliseconds.
    pub audio_ms: u64,
    /// In the detector's load order.
    pub words: Vec<WordScore>,
}

/// Runs `samples` (16 kHz mono) through `detector` from a fresh start, padded with silence.
pub fn score_clip(detector: &mut WakeDetector, samples: &[i16]) -> ClipScores {
    detector.reset();
    let mut words: Vec<WordScore> = detector
        .words()
        .into_iter()
        .map(|word| WordScore { word, max_score: 0.0, max_at_ms: 0, detections_ms: Vec::new() })
        .collect();
    let silence = vec![0i16; PAD_SAMPLES];
    let mut fed = 0usize;
    // A step that ends in the lead-in silence counts as the clip's start.
    let clip_ms = |end_sample: u64| (end_sample as i64 - PAD_SAMPLES as i64).max(0) * 1000 / SAMPLE_RATE_HZ as i64;
    for part in [&silence[..], samples, &silence[..]] {
        for frame in part.chunks(FRAME_SAMPLES) {
            let end = (fed + frame.len()) as u64;
            let detections = detector.process_with(frame, |_, scores| {
                for (w, &s) in words.iter_mut().zip(scores) {
                    if s > w.max_score {
                        w.max_score = s;
                        w.max_at_ms = clip_ms(end);
                    }
                }
            });
            fed += frame.len();
            for d in detections {
                if let Some(w) = words.iter_mut().find(|w| w.word == d.word) {
                    w.detections_ms.push(clip_ms(d.end_sample));
                }
            }
        }
    }
    ClipScores { audio_ms: samples.len() as u64 * 1000 / SAMPLE_RATE_HZ as u64, words }
}

impl ClipScores {
    /// The highest score of any word.
    pub fn max_score(&self) -> f32 {
        self.words.iter().map(|w| w.max_score).fold(0.0, f32::max)
    }
}

impl fmt::Display for ClipScores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<24} {:>9} {:>9}  detections (ms)", "word", "max score", "at ms")?;
        for w in &self.words {
            let detections = if w.detections_ms.is_empty() {
                "none".to_string()
            } else {
                w.detections_ms.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            };
            writeln!(f, "{:<24} {:>9.4} {:>9}  {detections}", w.word, w.max_score, w.max_at_ms)?;
        }
        Ok(())
    }
}
