//! The speaking engine: a Piper voice when one loads, else espeak-ng's own voice. Plain synchronous
//! code, no bus inside; the service runs it on its own thread.

use std::path::Path;

use tracing::{info, warn};

use crate::config::TtsConfig;
use crate::espeak::{Espeak, ESPEAK_SAMPLE_RATE_HZ};
use crate::normalize::{normalize, split_sentences};
use crate::piper::{self, PiperVoice, Scales};
use crate::TtsError;

/// Which voice speaks.
pub enum Voice {
    Piper(Box<PiperVoice>),
    Espeak { voice: String, rate_wpm: u32 },
}

pub struct Engine {
    voice: Voice,
    espeak: Espeak,
    /// Why the configured Piper voice is not in use (absent, corrupt), for status and logs.
    pub fallback_reason: Option<String>,
    max_sentence_chars: usize,
}

impl Engine {
    /// Loads the configured Piper voice, or falls back to espeak-ng with the reason. Fails only when
    /// espeak-ng itself cannot start (then nothing can speak).
    pub fn load(config: &TtsConfig) -> Result<Engine, TtsError> {
        let espeak = Espeak::global(config.espeak_data_dir.as_deref())?;
        let model = config.voice_model();
        let (voice, fallback_reason) = match load_piper(config, &model) {
            Ok(v) => {
                info!(voice = %v.name, sample_rate_hz = v.sample_rate_hz(), speakers = v.config.num_speakers, "piper voice loaded");
                (Voice::Piper(Box::new(v)), None)
            }
            Err(why) => {
                warn!(model = %model.display(), reason = %why, voice = %config.espeak_voice, "speaking with espeak-ng instead of piper");
                (Voice::Espeak { voice: config.espeak_voice.clone(), rate_wpm: config.espeak_rate_wpm }, Some(why))
            }
        };
        if let Voice::Espeak { voice, .. } = &voice {
            // A voice name espeak does not know is a config error worth failing on.
            espeak.clauses(voice, "ok")?;
        }
        Ok(Engine { voice, espeak, fallback_reason, max_sentence_chars: config.max_sentence_chars })
    }

    /// An engine around an already loaded Piper voice (tests, bench).
    pub fn with_piper(voice: PiperVoice, espeak: Espeak) -> Engine {
        Engine { voice: Voice::Piper(Box::new(voice)), espeak, fallback_reason: None, max_sentence_chars: 400 }
    }

    /// An engine that speaks with espeak-ng (tests, bench).
    pub fn with_espeak(voice: &str, rate_wpm: u32, espeak: Espeak) -> Engine {
        let voice = Voice::Espeak { voice: voice.into(), rate_wpm };
        Engine { voice, espeak, fallback_reason: None, max_sentence_chars: 400 }
    }

    /// `piper:<name>` or `espeak-ng:<voice>`, as `Spoken.voice` and the capabilities name it.
    pub fn voice_name(&self) -> String {
        match &self.voice {
            Voice::Piper(v) => format!("piper:{}", v.name),
            Voice::Espeak { voice, .. } => format!("espeak-ng:{voice}"),
        }
    }

    pub fn sample_rate_hz(&self) -> u32 {
        match &self.voice {
            Voice::Piper(v) => v.sample_rate_hz(),
            Voice::Espeak { .. } => ESPEAK_SAMPLE_RATE_HZ,
        }
    }

    /// Text as it will be spoken: normalized, then cut into pieces synthesized one at a time.
    pub fn pieces(&self, text: &str) -> Vec<String> {
        split_sentences(&normalize(text), self.max_sentence_chars)
    }

    /// One piece of normalized text to s16 mono audio at [`Engine::sample_rate_hz`]. A piece with
    /// nothing to say (only punctuation) gives empty audio.
    pub fn synthesize(&mut self, piece: &str) -> Result<Vec<i16>, TtsError> {
        match &mut self.voice {
            Voice::Piper(v) => {
                let mut audio = Vec::new();
                for ids in v.text_to_ids(&self.espeak, piece)? {
                    audio.extend(v.ids_to_audio(&ids)?);
                }
                Ok(audio)
            }
            Voice::Espeak { voice, rate_wpm } => self.espeak.synthesize(voice, *rate_wpm, piece),
        }
    }

    /// All of `text`, normalized and cut into pieces as the service does, as one stretch of audio
    /// (what the service would stream as chunks, for `hearth speak` and tests).
    pub fn speak(&mut self, text: &str) -> Result<Vec<i16>, TtsError> {
        let mut audio = Vec::new();
        for piece in self.pieces(text) {
            audio.extend(self.synthesize(&piece)?);
        }
        Ok(audio)
    }

    /// Piper phoneme ids of `text` (one list per sentence); empty for the espeak voice.
    pub fn phoneme_ids(&self, text: &str) -> Result<Vec<Vec<i64>>, TtsError> {
        match &self.voice {
            Voice::Piper(v) => v.text_to_ids(&self.espeak, text),
            Voice::Espeak { .. } => Ok(Vec::new()),
        }
    }
}

fn load_piper(config: &TtsConfig, model: &Path) -> Result<PiperVoice, String> {
    if !model.is_file() {
        let name = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return Err(format!("no Piper voice at {} — run `hearth models pull piper-{name}`", model.display()));
    }
    let lib = piper::onnxruntime_path(config.onnxruntime_path.as_deref(), &config.data_dir);
    let env = piper::environment(&lib).map_err(|e| e.to_string())?;
    let scales = Scales { noise_scale: config.noise_scale, length_scale: config.length_scale, noise_w: config.noise_w };
    PiperVoice::load(model, config.speaker.as_deref(), &scales, &env, config.threads).map_err(|e| e.to_string())
}
