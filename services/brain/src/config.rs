//! The `[brain]` table.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::contacts::MessagesConfig;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BrainConfig {
    /// Ask the LLM service what the local intents cannot answer.
    pub use_llm: bool,
    /// The folder of the user's own sentence templates (`*.toml`, added to the built-in ones; see
    /// intents/architecture.md). Unset: `$XDG_CONFIG_HOME/hearth/intents`, else `~/.config/hearth/intents`.
    /// A missing folder is fine; a malformed file stops the start with its file, line and problem.
    pub intents_dir: Option<PathBuf>,
    /// After a spoken reply has played, listen this long for a follow-up without the wake word,
    /// milliseconds; 0 turns follow-ups off.
    pub follow_up_ms: u64,
    /// How long a site's conversation is remembered after its last turn, seconds.
    pub memory_s: u64,
    /// Most messages of history sent to the LLM (older ones are dropped first).
    pub memory_messages: usize,
    /// Longest wait for speech recognition's transcript after a capture ends, milliseconds; then "I
    /// can't understand speech right now" (the ASR service is down or hung).
    pub transcript_timeout_ms: u64,
    /// Longest wait for a tool's result, milliseconds; then a plain "that took too long".
    pub tool_timeout_ms: u64,
    /// Longest wait for the vision service's first sentence of a `look` (or its result), and between two of
    /// its sentences, milliseconds. Taking the frame, encoding it and the first words took about 20 s on a
    /// Raspberry Pi 4 with SmolVLM-256M (image splitting off), so it is longer than `tool_timeout_ms`.
    pub look_timeout_ms: u64,
    /// Longest wait for the LLM's first sentence or tool call, milliseconds. The reference build took
    /// ~18 s for a whole answer on a Pi 4, so the default is generous.
    pub llm_first_event_timeout_ms: u64,
    /// Longest silence between two LLM events once it has started answering, milliseconds.
    pub llm_idle_timeout_ms: u64,
    /// If a reply's `played` event never comes (no speaker), go back to idle after this, milliseconds.
    pub playback_timeout_ms: u64,
    /// `[brain.messages]`: the contact book for messages and calls, and the hand-off's timeouts.
    pub messages: MessagesConfig,
}

impl Default for BrainConfig {
    fn default() -> Self {
        Self {
            use_llm: true,
            intents_dir: None,
            follow_up_ms: 5_000,
            memory_s: 300,
            memory_messages: 12,
            transcript_timeout_ms: 20_000,
            tool_timeout_ms: 10_000,
            look_timeout_ms: 60_000,
            llm_first_event_timeout_ms: 90_000,
            llm_idle_timeout_ms: 30_000,
            playback_timeout_ms: 120_000,
            messages: MessagesConfig::default(),
        }
    }
}

impl BrainConfig {
    /// The folder the user's templates are read from.
    pub fn intents_dir(&self) -> Option<PathBuf> {
        self.intents_dir.clone().or_else(hearth_intents::Intents::default_user_dir)
    }

    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.transcript_timeout_ms < 100 {
            return Err(("brain.transcript_timeout_ms", "must be at least 100".into()));
        }
        if self.tool_timeout_ms < 100 {
            return Err(("brain.tool_timeout_ms", "must be at least 100".into()));
        }
        if self.look_timeout_ms < 100 {
            return Err(("brain.look_timeout_ms", "must be at least 100".into()));
        }
        if self.llm_first_event_timeout_ms < 100 || self.llm_idle_timeout_ms < 100 {
            return Err(("brain.llm_first_event_timeout_ms", "LLM timeouts must be at least 100".into()));
        }
        if self.memory_messages == 0 {
            return Err(("brain.memory_messages", "must be at least 1".into()));
        }
        self.messages.validate()
    }
}
