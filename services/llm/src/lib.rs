//! The language model service: answers `hearth/<site>/llm/request` with a stream of `llm/event`s, either the
//! reply's sentences one by one as they are generated, or a single tool call, then `done`.
//!
//! llama.cpp (through `llama-cpp-2`) runs Qwen3-4B-Instruct-2507 by default, fully in RAM, or any GGUF chat
//! model: the prompt is rendered with the model's own chat template and tools are called in its family's
//! format. The system prompt and tool definitions form a fixed prefix that stays in the KV cache and is saved
//! to disk, so a turn evaluates only its new tokens; a GBNF grammar makes every reply either a well-formed call
//! of a known tool or plain spoken text.
//!
//! # Layout
//! - [`config`]: the `[llm]` table.
//! - [`template`]: chat templates (Jinja) rendered as Hugging Face renders them.
//! - [`tool_format`]: each model family's tool-call syntax, found from its template.
//! - [`llama_template`]: llama.cpp's own template support, the last resort for a template Hearth cannot render.
//! - [`prompt`]: the system prompt and the conversation in the model's own chat format, split into a cached
//!   prefix and the turn.
//! - [`grammar`]: the reply grammar and the tool-call parser.
//! - [`speech`]: UTF-8 reassembly, `<think>` removal, sentence splitting, cleaning for speech.
//! - [`engine`]: the model, the cached prefix, one turn.
//! - [`service`]: the bus shell and the engine thread.
//! - [`bench`]: `hearth-llm bench`, speed on a Qwen3-4B-shaped model.
//! - [`eval`]: `hearth-llm eval routing`, does the model call the right tool; several models side by side.

pub mod bench;
pub mod config;
pub mod engine;
pub mod eval;
pub mod grammar;
pub mod llama_template;
pub mod prompt;
pub mod service;
pub mod speech;
pub mod template;
pub mod tool_format;

use std::path::PathBuf;

use thiserror::Error;

pub use config::LlmConfig;
pub use engine::{Engine, LlmModel, Output, TurnStats};
pub use service::run;

#[derive(Debug, Error)]
pub enum LlmError {
    #[error("{}", engine::missing_model_detail(.path))]
    MissingModel { path: PathBuf },
    #[error("cannot load model {path}: {why}")]
    Load { path: PathBuf, why: String },
    #[error(transparent)]
    Prompt(#[from] prompt::PromptError),
    #[error("llama.cpp: {0}")]
    Llama(String),
    #[error("the conversation does not fit the context window ({tokens} tokens, window {context})")]
    ContextOverflow { tokens: usize, context: usize },
    #[error("the reply was cut off at the token limit inside a tool call ({0})")]
    Truncated(String),
    #[error("the model wrote a tool call that cannot be used: {0}")]
    BadCall(String),
    #[error("the model gave an empty reply")]
    EmptyReply,
    #[error("stopped")]
    Cancelled,
    #[error("engine thread: {0}")]
    Thread(String),
    #[error(transparent)]
    Bus(#[from] hearth_bus::BusError),
}
