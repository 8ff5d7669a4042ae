//! The `[tts]` table of the node file.

use std::path::PathBuf;

use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

use crate::piper::DEFAULT_VOICE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtsConfig {
    /// Piper voice name: the model is `<models_dir>/piper/<voice>.onnx` with its `.onnx.json` beside it.
    pub voice: String,
    /// An explicit `.onnx` path instead of `voice` (its `.onnx.json` beside it).
    pub voice_path: Option<PathBuf>,
    /// Speaker of a multi-speaker voice: a name from its `speaker_id_map` or a number; absent means
    /// the voice's default speaker.
    pub speaker: Option<String>,
    /// Overrides the voice's `inference.length_scale` (phoneme duration factor, > 1 is slower).
    pub length_scale: Option<f32>,
    /// Overrides the voice's `inference.noise_scale` (generator noise).
    pub noise_scale: Option<f32>,
    /// Overrides the voice's `inference.noise_w` (phoneme width noise).
    pub noise_w: Option<f32>,
    /// espeak-ng voice that speaks when no Piper voice is usable.
    pub espeak_voice: String,
    /// Speaking rate of the espeak-ng voice, words per minute (80 to 450).
    pub espeak_rate_wpm: u32,
    /// The folder holding `espeak-ng-data`; absent means the library's default. Piper voices were
    /// trained on piper-tts's own espeak-ng data: pointing this at piper-tts's package folder gives
    /// phoneme ids identical to piper-tts (Debian 12's data pronounces some vowels differently).
    pub espeak_data_dir: Option<PathBuf>,
    /// Longest audio chunk sent on `audio/play`, milliseconds.
    pub chunk_ms: u32,
    /// Longest piece of text synthesized at once, characters; longer sentences are cut at a comma or space.
    pub max_sentence_chars: usize,
    /// ONNX Runtime threads for one synthesis; 0 lets ONNX Runtime choose.
    pub threads: usize,
    /// Path of libonnxruntime; absent means `ORT_DYLIB_PATH`, else `<data_dir>/lib/libonnxruntime.so`.
    pub onnxruntime_path: Option<PathBuf>,
    /// Filled from the node file: where models are (`node.models_dir()`).
    #[serde(skip)]
    pub models_dir: PathBuf,
    /// Filled from the node file: `node.data_dir`.
    #[serde(skip)]
    pub data_dir: PathBuf,
}

impl Default for TtsConfig {
    fn default() -> Self {
        let data_dir = hearth_node::config::default_data_dir();
        Self {
            voice: DEFAULT_VOICE.into(),
            voice_path: None,
            speaker: None,
            length_scale: None,
            noise_scale: None,
            noise_w: None,
            espeak_voice: "en-us".into(),
            espeak_rate_wpm: 175,
            espeak_data_dir: None,
            chunk_ms: 500,
            max_sentence_chars: 400,
            threads: 0,
            onnxruntime_path: None,
            models_dir: data_dir.join("models"),
            data_dir,
        }
    }
}

impl TtsConfig {
    /// The `[tts]` table of `file`, validated, with the node's directories filled in.
    pub fn from_node(file: &NodeFile) -> Result<TtsConfig, ConfigError> {
        let mut config: TtsConfig = file.section("tts")?;
        config.models_dir = file.node.models_dir();
        config.data_dir = file.node.data_dir.clone();
        config.validate().map_err(|(key, why)| file.invalid(format!("tts.{key}"), why))?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.voice.trim().is_empty() || self.voice.contains('/') {
            return Err(("voice", "must be a voice name such as en_US-lessac-medium (use voice_path for a file)".into()));
        }
        for (key, v) in [("length_scale", self.length_scale), ("noise_scale", self.noise_scale), ("noise_w", self.noise_w)] {
            if let Some(v) = v {
                if !v.is_finite() || !(0.0..=10.0).contains(&v) {
                    return Err((key, format!("{v} must be between 0 and 10")));
                }
            }
        }
        if self.length_scale == Some(0.0) {
            return Err(("length_scale", "must be above 0".into()));
        }
        if !(80..=450).contains(&self.espeak_rate_wpm) {
            return Err(("espeak_rate_wpm", format!("{} must be 80 to 450", self.espeak_rate_wpm)));
        }
        if !(20..=10_000).contains(&self.chunk_ms) {
            return Err(("chunk_ms", format!("{} must be 20 to 10000", self.chunk_ms)));
        }
        if !(40..=5_000).contains(&self.max_sentence_chars) {
            return Err(("max_sentence_chars", format!("{} must be 40 to 5000", self.max_sentence_chars)));
        }
        if self.espeak_voice.trim().is_empty() {
            return Err(("espeak_voice", "must not be empty".into()));
        }
        Ok(())
    }

    /// The Piper model file this config asks for.
    pub fn voice_model(&self) -> PathBuf {
        self.voice_path.clone().unwrap_or_else(|| self.models_dir.join("piper").join(format!("{}.onnx", self.voice)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_key_naming_errors() {
        let f = NodeFile::parse("models_dir = \"/m\"\n", None).unwrap();
        let c = TtsConfig::from_node(&f).unwrap();
        assert_eq!(c.voice_model(), PathBuf::from("/m/piper/en_US-lessac-medium.onnx"));
        let f = NodeFile::parse("[tts]\nchunk_ms = 1\n", None).unwrap();
        assert!(TtsConfig::from_node(&f).unwrap_err().to_string().contains("tts.chunk_ms"));
        let f = NodeFile::parse("[tts]\nvoicee = \"x\"\n", None).unwrap();
        assert!(TtsConfig::from_node(&f).unwrap_err().to_string().contains("voicee"));
        let f = NodeFile::parse("[tts]\nlength_scale = -1.0\n", None).unwrap();
        assert!(TtsConfig::from_node(&f).unwrap_err().to_string().contains("tts.length_scale"));
    }
}
