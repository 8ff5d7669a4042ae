//! The `[llm]` table of the node file.

use std::path::{Path, PathBuf};

use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

use crate::tool_format::ToolFormatChoice;

/// The default model's file name under `<models_dir>/llm/`.
pub const DEFAULT_MODEL_FILE: &str = "Qwen3-4B-Instruct-2507-Q4_K_M.gguf";
/// What `hearth models pull` calls the default model.
pub const DEFAULT_MODEL_NAME: &str = "qwen3-4b-instruct";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// GGUF model file; default `<models_dir>/llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf`. Read fully into RAM
    /// (no memory mapping: the models directory may be on NFS).
    pub model: Option<PathBuf>,
    /// Context window, tokens (system prompt, tool definitions, conversation and reply together).
    pub context_tokens: u32,
    /// Most prompt tokens evaluated in one batch, tokens.
    pub batch_tokens: u32,
    /// CPU threads for generation and prompt evaluation; 0 = one per core.
    pub threads: u32,
    /// Most tokens generated for one reply, tokens.
    pub max_tokens: u32,
    /// Sampling temperature; 0 = greedy (deterministic), the default for a voice assistant.
    pub temperature: f32,
    /// Sample only among the k most likely tokens (with temperature > 0); 0 = off.
    pub top_k: u32,
    /// Nucleus sampling probability mass (with temperature > 0), 0–1; 1 = off.
    pub top_p: f32,
    /// Drop tokens less likely than this fraction of the most likely one (with temperature > 0), 0–1.
    pub min_p: f32,
    /// Random seed for sampling (with temperature > 0).
    pub seed: u32,
    /// Replaces the built-in system prompt (tool definitions are always appended).
    pub system_prompt: Option<String>,
    /// A Jinja chat template file that replaces the model's own (`tokenizer.chat_template` in the GGUF);
    /// for models whose template is missing or broken.
    pub chat_template: Option<PathBuf>,
    /// How the model writes tool calls: `auto` (found from its chat template), `hermes` (Qwen, Hermes,
    /// SmolLM3: `<tool_call>` JSON), `llama3` (`{"name": …, "parameters": …}`), `granite` (`<|tool_call|>[…]`),
    /// `json` (Gemma and other models without native tools: a JSON convention taught in the system prompt),
    /// or `none` (no tools).
    pub tool_format: ToolFormatChoice,
    /// Save the evaluated prompt prefix under `<data_dir>/llm/` and restore it at start.
    pub prefix_cache: bool,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            model: None,
            context_tokens: 4096,
            batch_tokens: 512,
            threads: 0,
            max_tokens: 256,
            temperature: 0.0,
            top_k: 20,
            top_p: 0.8,
            min_p: 0.0,
            seed: 0,
            system_prompt: None,
            chat_template: None,
            tool_format: ToolFormatChoice::Auto,
            prefix_cache: true,
        }
    }
}

impl LlmConfig {
    /// Reads `[llm]` from the node file and checks every value, naming the bad key.
    pub fn from_node(file: &NodeFile) -> Result<LlmConfig, ConfigError> {
        let config: LlmConfig = file.section("llm")?;
        config.validate().map_err(|(key, why)| file.invalid(format!("llm.{key}"), why))?;
        Ok(config)
    }

    /// The first problem found, as (key, why).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(256..=262_144).contains(&self.context_tokens) {
            return Err(("context_tokens", format!("must be 256 to 262144, got {}", self.context_tokens)));
        }
        if !(16..=8192).contains(&self.batch_tokens) {
            return Err(("batch_tokens", format!("must be 16 to 8192, got {}", self.batch_tokens)));
        }
        if self.threads > 256 {
            return Err(("threads", format!("must be 0 (auto) to 256, got {}", self.threads)));
        }
        if self.max_tokens == 0 || self.max_tokens >= self.context_tokens / 2 {
            return Err(("max_tokens", format!("must be 1 to half of context_tokens, got {}", self.max_tokens)));
        }
        if !(0.0..=5.0).contains(&self.temperature) {
            return Err(("temperature", format!("must be 0 to 5, got {}", self.temperature)));
        }
        if !(0.0..=1.0).contains(&self.top_p) || self.top_p == 0.0 {
            return Err(("top_p", format!("must be above 0 and at most 1, got {}", self.top_p)));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return Err(("min_p", format!("must be 0 to 1, got {}", self.min_p)));
        }
        if self.system_prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(("system_prompt", "must not be empty (leave it out for the built-in prompt)".into()));
        }
        Ok(())
    }

    /// The model file to load.
    pub fn model_path(&self, models_dir: &Path) -> PathBuf {
        self.model.clone().unwrap_or_else(|| models_dir.join("llm").join(DEFAULT_MODEL_FILE))
    }

    /// Threads to use: the configured number, or one per available core.
    pub fn thread_count(&self) -> i32 {
        if self.threads > 0 {
            return self.threads as i32;
        }
        std::thread::available_parallelism().map_or(4, |n| n.get() as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_errors_name_the_key() {
        assert!(LlmConfig::default().validate().is_ok());
        let file = NodeFile::parse("[llm]\nmax_tokens = 0\n", None).unwrap();
        let err = LlmConfig::from_node(&file).unwrap_err().to_string();
        assert!(err.contains("llm.max_tokens"), "{err}");
        let file = NodeFile::parse("[llm]\ntemprature = 0.5\n", None).unwrap();
        let err = LlmConfig::from_node(&file).unwrap_err().to_string();
        assert!(err.contains("temprature"), "{err}");
        let file = NodeFile::parse("models_dir = \"/m\"\n[llm]\nthreads = 2\n", None).unwrap();
        let config = LlmConfig::from_node(&file).unwrap();
        assert_eq!(config.thread_count(), 2);
        assert_eq!(
            config.model_path(&file.node.models_dir()),
            PathBuf::from("/m/llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf")
        );
    }
}
