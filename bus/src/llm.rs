//! Requests from the brain to the language model service and its streamed answer.

use serde::{Deserialize, Serialize};

use crate::json_message;

/// A chat message role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    /// A tool result fed back as context for later turns.
    Tool,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

/// Ask the model for the next reply, on `hearth/<site>/llm/request`. The system prompt and tool
/// definitions are the LLM service's fixed prefix; `messages` is the site's recent conversation, the
/// last one being the new user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmRequest {
    pub request_id: String,
    pub session_id: String,
    pub messages: Vec<ChatMessage>,
}
json_message!(LlmRequest, "llm/request");

/// One step of the model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LlmEventKind {
    /// A complete sentence, cleaned for speech, published as soon as it is generated.
    Sentence { text: String },
    /// The model chose a tool; the brain calls it and speaks its result.
    ToolCall { tool: String, arguments: serde_json::Value },
    /// The answer is complete.
    Done {
        /// Prompt tokens evaluated for this turn (the cached prefix excluded).
        prompt_tokens: u32,
        /// Tokens generated.
        generated_tokens: u32,
        /// From request to done, milliseconds.
        elapsed_ms: u64,
    },
    /// The model could not answer (not loaded, context overflow, internal error).
    Error { message: String },
}

/// A streamed step of the answer to `request_id`, on `hearth/<site>/llm/event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmEvent {
    pub request_id: String,
    pub session_id: String,
    #[serde(flatten)]
    pub event: LlmEventKind,
}
json_message!(LlmEvent, "llm/event");
