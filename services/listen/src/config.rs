//! The `[listen]` table of the node file.

use std::path::PathBuf;

use hearth_node::config::ConfigError;
use hearth_node::{NodeConfig, NodeFile};
use hearth_wake::onnx;
use serde::{Deserialize, Serialize};

use crate::endpointer::EndpointerSettings;

/// The command that installs Silero VAD, named in the `unavailable` status.
pub const PULL_COMMAND: &str = "hearth models pull silero-vad";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenConfig {
    /// Silero VAD v5/v6 model. Default `<models_dir>/silero-vad/silero_vad.onnx`.
    pub vad_model: Option<PathBuf>,
    /// The ONNX Runtime shared library. Default `$ORT_DYLIB_PATH`, else `<data_dir>/lib/libonnxruntime.so`.
    pub onnxruntime: Option<PathBuf>,
    /// Speech probability, 0 to 1, at which a 32 ms chunk counts as speech. High on purpose: steady
    /// noise must not pass for speech.
    pub threshold: f32,
    /// Silence after speech that ends the utterance, milliseconds.
    pub end_silence_ms: u64,
    /// Consecutive speech before speech counts as started, milliseconds.
    pub min_speech_ms: u64,
    /// Give up when nobody speaks within this long, milliseconds (a `listen/start` may set its own).
    pub no_speech_timeout_ms: u64,
    /// Hard cap on one capture, milliseconds, whatever the VAD says.
    pub max_length_ms: u64,
    /// Audio kept before the start of speech, milliseconds.
    pub preroll_ms: u64,
    /// The sites this service captures for: empty (the default) is the node's own site, `["*"]` every
    /// site (one machine for the whole house and its web satellites).
    pub sites: Vec<String>,
}

impl Default for ListenConfig {
    fn default() -> Self {
        let e = EndpointerSettings::default();
        ListenConfig {
            vad_model: None,
            onnxruntime: None,
            threshold: e.threshold,
            end_silence_ms: e.end_silence_ms,
            min_speech_ms: e.min_speech_ms,
            no_speech_timeout_ms: e.no_speech_timeout_ms,
            max_length_ms: e.max_length_ms,
            preroll_ms: e.preroll_ms,
            sites: Vec::new(),
        }
    }
}

impl ListenConfig {
    /// Reads and validates `[listen]`, filling in paths from the node settings.
    pub fn load(file: &NodeFile) -> Result<ListenConfig, ConfigError> {
        let config: ListenConfig = file.section("listen")?;
        config.validate().map_err(|(key, why)| file.invalid(key, why))?;
        Ok(config.with_node_defaults(&file.node))
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |key: &str, why: &str| Err((format!("listen.{key}"), why.to_string()));
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return err("threshold", "must be between 0 and 1");
        }
        if !(100..=5_000).contains(&self.end_silence_ms) {
            return err("end_silence_ms", "must be 100 to 5000");
        }
        if self.min_speech_ms > 2_000 {
            return err("min_speech_ms", "must be at most 2000");
        }
        if !(1_000..=60_000).contains(&self.max_length_ms) {
            return err("max_length_ms", "must be 1000 to 60000 (the bus carries at most about 2 minutes of audio)");
        }
        if self.no_speech_timeout_ms < 500 {
            return err("no_speech_timeout_ms", "must be at least 500");
        }
        if self.preroll_ms > 2_000 {
            return err("preroll_ms", "must be at most 2000");
        }
        if let Err(why) = hearth_bus::topic::Sites::from_list(&self.sites, hearth_bus::topic::DEFAULT_SITE) {
            return err("sites", &why);
        }
        Ok(())
    }

    pub fn with_node_defaults(mut self, node: &NodeConfig) -> Self {
        self.vad_model.get_or_insert_with(|| node.models_dir().join("silero-vad").join("silero_vad.onnx"));
        self.onnxruntime = Some(onnx::library_path(self.onnxruntime.as_deref(), &node.data_dir));
        self
    }

    pub fn vad_model(&self) -> PathBuf {
        self.vad_model
            .clone()
            .unwrap_or_else(|| NodeConfig::default().models_dir().join("silero-vad").join("silero_vad.onnx"))
    }

    pub fn onnxruntime(&self) -> PathBuf {
        onnx::library_path(self.onnxruntime.as_deref(), &NodeConfig::default().data_dir)
    }

    pub fn settings(&self) -> EndpointerSettings {
        EndpointerSettings {
            threshold: self.threshold,
            end_silence_ms: self.end_silence_ms,
            min_speech_ms: self.min_speech_ms,
            no_speech_timeout_ms: self.no_speech_timeout_ms,
            max_length_ms: self.max_length_ms,
            preroll_ms: self.preroll_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let c = ListenConfig::load(&NodeFile::parse("[listen]\nmax_length_ms = 8000\n", None).unwrap()).unwrap();
        assert_eq!(c.max_length_ms, 8000);
        assert!(c.vad_model.unwrap().ends_with("silero-vad/silero_vad.onnx"));
        let bad = |t: &str| ListenConfig::load(&NodeFile::parse(t, None).unwrap()).unwrap_err().to_string();
        assert!(bad("[listen]\nmax_length_ms = 0\n").contains("listen.max_length_ms"));
        assert!(bad("[listen]\nthreshold = 1.2\n").contains("listen.threshold"));
        assert!(bad("[listen]\nend_silence = 3\n").contains("end_silence"));
    }
}
