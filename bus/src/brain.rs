//! What the brain tells the rest of the house: the assistant's state and each finished reply.

use serde::{Deserialize, Serialize};

use crate::json_message;

/// The assistant's state at a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistantState {
    Idle,
    Listening,
    Thinking,
    Speaking,
    #[serde(other)]
    Unknown,
}

/// The assistant's state (retained), on `hearth/<site>/brain/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateChanged {
    pub state: AssistantState,
    #[serde(default)]
    pub session_id: Option<String>,
    pub timestamp_ms: i64,
}
json_message!(StateChanged, "brain/state", retain);

/// Who produced a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplySource {
    /// The local intent matcher (no LLM).
    Intent,
    /// The language model's own words.
    Llm,
    /// A tool's finished sentence.
    Tool,
    /// A fallback: not understood, timed out, a stage missing.
    Fallback,
    #[serde(other)]
    Unknown,
}

/// The whole reply of a turn once it is complete, on `hearth/<site>/brain/reply`. The sentences were
/// already sent to TTS one by one; this is the summary for Home Assistant and logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub session_id: String,
    /// What the user said.
    pub request: String,
    /// Every sentence, joined with spaces.
    pub text: String,
    pub source: ReplySource,
    /// Tool used, if any.
    #[serde(default)]
    pub tool: Option<String>,
    /// From transcript to the last sentence, milliseconds.
    pub elapsed_ms: u64,
}
json_message!(Reply, "brain/reply");
