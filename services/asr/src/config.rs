//! The `[asr]` table of the node file.

use std::path::{Path, PathBuf};

use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

/// The model fetched by `hearth models pull whisper-tiny.en`, relative to the models directory.
pub const DEFAULT_MODEL: &str = "whisper/ggml-tiny.en.bin";
/// The name `hearth models pull` knows the default model by.
pub const DEFAULT_MODEL_NAME: &str = "whisper-tiny.en";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsrConfig {
    /// whisper.cpp model file (ggml format). Absent means `<models_dir>/whisper/ggml-tiny.en.bin`;
    /// `ggml-base.en.bin` (`hearth models pull whisper-base.en`) is the more robust choice on a Pi 5.
    /// Read whole into RAM at start (never memory-mapped: the models directory may be on NFS).
    pub model: Option<PathBuf>,
    /// Spoken language as a whisper code (`en`, `de`, …), or `auto` to detect it per utterance.
    /// English-only models (`*.en`) accept only `en`.
    pub language: String,
    /// CPU threads for one transcription. Absent means min(4, available cores).
    pub threads: Option<u32>,
    /// 1 is greedy decoding (fastest); 2 or more is beam search with that many beams.
    pub beam_size: u32,
    /// Shrink whisper's encoder context to the utterance's length (about 50 frames per second of
    /// audio, plus a margin) instead of always encoding 30 s. Several times faster on short commands.
    pub scale_audio_ctx: bool,
    /// Smallest encoder context when scaling, in encoder frames (50 per second; 1500 = 30 s). Too
    /// small a context makes whisper repeat or cut words.
    pub audio_ctx_floor: u32,
    /// Retry at rising temperatures when the greedy result looks unreliable (whisper's fallback).
    /// Off by default: it can multiply the latency of a turn, and the non-speech filter catches
    /// what it would mostly fix on short commands.
    pub temperature_fallback: bool,
}

impl Default for AsrConfig {
    fn default() -> Self {
        Self {
            model: None,
            language: "en".into(),
            threads: None,
            beam_size: 1,
            scale_audio_ctx: true,
            audio_ctx_floor: 384,
            temperature_fallback: false,
        }
    }
}

impl AsrConfig {
    /// Reads `[asr]` from the node file and validates it, naming the key on error.
    pub fn from_node_file(file: &NodeFile) -> Result<AsrConfig, ConfigError> {
        let mut config: AsrConfig = file.section("asr")?;
        if let Err((key, why)) = config.validate() {
            return Err(file.invalid(key, why));
        }
        if config.model.is_none() {
            config.model = Some(default_model_path(&file.node.models_dir()));
        }
        Ok(config)
    }

    /// Checks every field; the error names the key (`asr.<field>`) and says why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, why: String| Err((format!("asr.{key}"), why));
        crate::engine::route_logs(); // whisper.cpp reports an unknown language itself
        let lang = self.language.trim();
        if lang != "auto" && whisper_rs::get_lang_id(lang).is_none() {
            return bad("language", format!("`{lang}` is not a whisper language code (e.g. `en`, `de`, or `auto`)"));
        }
        if let Some(t) = self.threads {
            if !(1..=64).contains(&t) {
                return bad("threads", format!("must be 1 to 64, got {t}"));
            }
        }
        if !(1..=16).contains(&self.beam_size) {
            return bad("beam_size", format!("must be 1 (greedy) to 16, got {}", self.beam_size));
        }
        if !(64..=1500).contains(&self.audio_ctx_floor) {
            return bad("audio_ctx_floor", format!("must be 64 to 1500 encoder frames, got {}", self.audio_ctx_floor));
        }
        if self.model.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return bad("model", "must not be empty (leave it out for the default)".into());
        }
        Ok(())
    }

    /// The model path: the configured one, else the default under `models_dir`.
    pub fn model_path(&self, models_dir: &Path) -> PathBuf {
        self.model.clone().unwrap_or_else(|| default_model_path(models_dir))
    }

    /// Threads to use: the configured count, else min(4, available cores).
    pub fn threads(&self) -> u32 {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1).clamp(1, 4)
        })
    }
}

pub fn default_model_path(models_dir: &Path) -> PathBuf {
    models_dir.join(DEFAULT_MODEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_resolve_the_model() {
        let file = NodeFile::parse("models_dir = \"/m\"\n", None).unwrap();
        let c = AsrConfig::from_node_file(&file).unwrap();
        assert_eq!(c.model.as_deref(), Some(Path::new("/m/whisper/ggml-tiny.en.bin")));
        assert_eq!(c.beam_size, 1);
        assert!(c.scale_audio_ctx);
        assert!((1..=4).contains(&c.threads()));
    }

    #[test]
    fn errors_name_the_key() {
        for (toml, key) in [
            ("[asr]\nlanguage = \"xx\"\n", "asr.language"),
            ("[asr]\nbeam_size = 0\n", "asr.beam_size"),
            ("[asr]\nthreads = 0\n", "asr.threads"),
            ("[asr]\naudio_ctx_floor = 4000\n", "asr.audio_ctx_floor"),
            ("[asr]\nmodel = \"\"\n", "asr.model"),
        ] {
            let file = NodeFile::parse(toml, None).unwrap();
            let err = AsrConfig::from_node_file(&file).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        let file = NodeFile::parse("[asr]\nbeams = 2\n", None).unwrap();
        let err = AsrConfig::from_node_file(&file).unwrap_err().to_string();
        assert!(err.contains("[asr]") && err.contains("beams"), "{err}");
    }

    #[test]
    fn explicit_values_are_kept() {
        let file = NodeFile::parse(
            "[asr]\nmodel = \"/x/ggml-base.en.bin\"\nlanguage = \"auto\"\nthreads = 2\nbeam_size = 5\nscale_audio_ctx = false\n",
            None,
        )
        .unwrap();
        let c = AsrConfig::from_node_file(&file).unwrap();
        assert_eq!(c.model.as_deref(), Some(Path::new("/x/ggml-base.en.bin")));
        assert_eq!((c.language.as_str(), c.threads(), c.beam_size, c.scale_audio_ctx), ("auto", 2, 5, false));
    }
}
