//! The synthetic speakers: every installed Piper voice and each of its speakers (multi-speaker voices
//! such as `en_US-libritts_r-medium` give hundreds), and espeak-ng's English accents crossed with its
//! voice variants. Each speaker has a stable name, which is what the train/validation split is made on,
//! so the validation score is on voices the classifier never heard.
//!
//! Piper runs here through its own small session (phoneme ids from `hearth-tts`), because training
//! needs a different speaker id and different noise and length scales on every take, which the
//! assistant's voice (one speaker, fixed scales) has no reason to offer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;

use hearth_tts::espeak::{Espeak, ESPEAK_SAMPLE_RATE_HZ};
use hearth_tts::phonemes::VoiceConfig;

use crate::audio;
use crate::WakewordError;

/// espeak-ng's English accents (its `gmw` voices).
pub const ESPEAK_ACCENTS: &[&str] =
    &["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];
/// espeak-ng voice variants that still sound like a person (its novelty variants are left out).
pub const ESPEAK_VARIANTS: &[&str] = &[
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
    "klatt4", "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "aunty", "belinda", "benjamin", "caleb", "david",
    "ed", "edward", "Gene", "john", "linda", "max", "Michael", "Mike", "paul", "quincy", "rob", "robert", "steph",
    "travis", "victor", "zac", "grandma", "grandpa", "anika", "shelby", "norbert",
];

/// One synthetic voice.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Speaker {
    /// A Piper voice file and one of its speakers.
    Piper { model: PathBuf, speaker_id: Option<i64>, label: String },
    /// An espeak-ng voice (`en-us+m3`) at a base rate, words per minute.
    Espeak { voice: String, rate_wpm: u32 },
}

impl Speaker {
    /// A stable name: the split and the cache keys use it.
    pub fn name(&self) -> String {
        match self {
            Speaker::Piper { label, speaker_id, .. } => match speaker_id {
                Some(id) => format!("piper:{label}#{id}"),
                None => format!("piper:{label}"),
            },
            Speaker::Espeak { voice, .. } => format!("espeak:{voice}"),
        }
    }

    pub fn is_piper(&self) -> bool {
        matches!(self, Speaker::Piper { .. })
    }
}

/// Per-take variation the synthesizer itself offers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// Piper `length_scale` (> 1 is slower); espeak rate is divided by it.
    pub length_scale: f32,
    /// Piper `noise_scale`.
    pub noise_scale: f32,
    /// Piper `noise_w`.
    pub noise_w: f32,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery { length_scale: 1.0, noise_scale: 0.667, noise_w: 0.8 }
    }
}

/// The Piper voices (`.onnx` with `.onnx.json`) in `dirs`, each speaker of each one.
pub fn piper_speakers(dirs: &[PathBuf], max_per_voice: usize) -> Result<Vec<Speaker>, WakewordError> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for dir in dirs {
        let mut voices = hearth_tts::voices::voices_in(dir);
        voices.sort();
        for model in voices {
            let label = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if !seen.insert(label.clone()) {
                continue;
            }
            let config = VoiceConfig::from_file(&PathBuf::from(format!("{}.json", model.display())))?;
            if config.num_speakers > 1 {
                // Spread the chosen speakers over the whole range rather than taking the first few.
                let n = config.num_speakers.min(max_per_voice.max(1));
                for k in 0..n {
                    let id = (k * config.num_speakers / n) as i64;
                    out.push(Speaker::Piper { model: model.clone(), speaker_id: Some(id), label: label.clone() });
                }
            } else {
                out.push(Speaker::Piper { model, speaker_id: None, label });
            }
        }
    }
    Ok(out)
}

/// espeak-ng speakers: each accent with each variant, at a base rate spread over 130–190 wpm.
pub fn espeak_speakers(max: usize) -> Vec<Speaker> {
    let mut all = Vec::new();
    for (v, variant) in ESPEAK_VARIANTS.iter().enumerate() {
        for (a, accent) in ESPEAK_ACCENTS.iter().enumerate() {
            let voice = if variant.is_empty() { accent.to_string() } else { format!("{accent}+{variant}") };
            let rate_wpm = 130 + ((a * 7 + v * 13) % 7) as u32 * 10;
            all.push(Speaker::Espeak { voice, rate_wpm });
        }
    }
    // Interleave so that any prefix covers many accents and variants.
    let n = all.len();
    let stride = 37; // coprime with n (8 accents × 50 variants = 400)
    let mut picked: Vec<Speaker> = (0..n).map(|i| all[(i * stride) % n].clone()).collect();
    picked.truncate(max);
    picked
}

/// Speaks text with any [`Speaker`], keeping one session per Piper voice file.
pub struct Synthesizer {
    espeak: Espeak,
    onnxruntime: PathBuf,
    piper: HashMap<PathBuf, (VoiceConfig, Session)>,
    threads: usize,
}

impl Synthesizer {
    pub fn new(onnxruntime: &Path, threads: usize) -> Result<Synthesizer, WakewordError> {
        Ok(Synthesizer { espeak: Espeak::global(None)?, onnxruntime: onnxruntime.into(), piper: HashMap::new(), threads })
    }

    /// `text` spoken by `speaker`, 16 kHz mono, silence trimmed from both ends.
    pub fn speak(&mut self, speaker: &Speaker, delivery: &Delivery, text: &str) -> Result<Vec<f32>, WakewordError> {
        let raw = match speaker {
            Speaker::Espeak { voice, rate_wpm } => {
                let rate = ((*rate_wpm as f32 / delivery.length_scale) as u32).clamp(80, 400);
                let s16 = self.espeak.synthesize(voice, rate, text)?;
                audio::resample(&audio::from_s16(&s16), ESPEAK_SAMPLE_RATE_HZ)?
            }
            Speaker::Piper { model, speaker_id, .. } => self.piper(model, *speaker_id, delivery, text)?,
        };
        Ok(audio::trim_silence(&raw).to_vec())
    }

    fn piper(&mut self, model: &Path, sid: Option<i64>, d: &Delivery, text: &str) -> Result<Vec<f32>, WakewordError> {
        if !self.piper.contains_key(model) {
            let config = VoiceConfig::from_file(&PathBuf::from(format!("{}.json", model.display())))?;
            let session = hearth_wake::onnx::session(&self.onnxruntime, model, self.threads)?;
            self.piper.insert(model.to_path_buf(), (config, session));
        }
        let (config, session) = self.piper.get_mut(model).expect("inserted above");
        let bad = |e: ort::Error| WakewordError::Tts(hearth_tts::TtsError::Inference(format!("{}: {e}", model.display())));
        let mut out = Vec::new();
        for ids in config.text_to_ids(&self.espeak, text)? {
            let n = ids.len();
            let input = Tensor::from_array(([1usize, n], ids)).map_err(bad)?;
            let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(bad)?;
            let scales = Tensor::from_array(([3usize], vec![d.noise_scale, d.length_scale, d.noise_w])).map_err(bad)?;
            let outputs = match sid {
                Some(id) => {
                    let sid = Tensor::from_array(([1usize], vec![id])).map_err(bad)?;
                    session.run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales, "sid" => sid])
                }
                None => session.run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales]),
            }
            .map_err(bad)?;
            let (_, wave) = outputs[0].try_extract_tensor::<f32>().map_err(bad)?;
            out.extend(audio::from_s16(&hearth_tts::piper::to_s16_normalized(wave)));
        }
        audio::resample(&out, config.sample_rate_hz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn espeak_speakers_are_distinct_and_spread() {
        let s = espeak_speakers(40);
        assert_eq!(s.len(), 40);
        let names: std::collections::BTreeSet<String> = s.iter().map(Speaker::name).collect();
        assert_eq!(names.len(), 40);
        let accents: std::collections::BTreeSet<&str> =
            s.iter().map(|sp| if let Speaker::Espeak { voice, .. } = sp { voice.split('+').next().unwrap() } else { "" }).collect();
        assert_eq!(accents.len(), ESPEAK_ACCENTS.len());
    }

    #[test]
    fn every_espeak_speaker_speaks() {
        let lib = hearth_wake::onnx::library_path(None, Path::new("/nonexistent"));
        let mut synth = Synthesizer::new(&lib, 1).unwrap();
        for sp in espeak_speakers(400).iter().step_by(9) {
            let audio = synth.speak(sp, &Delivery::default(), "ok computer").unwrap();
            let ms = audio.len() / 16;
            assert!((300..3000).contains(&ms), "{}: {ms} ms", sp.name());
        }
    }

    #[test]
    fn no_piper_voices_in_an_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(piper_speakers(&[dir.path().to_path_buf()], 10).unwrap().is_empty());
    }
}
