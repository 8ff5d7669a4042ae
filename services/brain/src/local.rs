//! The seam between the conversation and whatever recognises requests without the LLM: a matcher looks at
//! a transcript and either answers it locally or leaves it to the LLM. Today's matcher is [`intent`]
//! (crate::intent); a template-based one can replace it without touching the conversation.

use serde_json::Value;

/// How a request recognised locally is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalMatch {
    /// Call this tool; its finished sentence is the reply.
    Tool { tool: String, arguments: Value },
    /// Speak this sentence as the whole reply (a question back, such as "For how long?").
    Say(String),
    /// Stop what is playing; nothing is said.
    StopPlayback,
}

/// Recognises requests that need no language model.
pub trait LocalMatcher: Send {
    /// `None`: not recognised, ask the LLM.
    fn match_local(&self, text: &str) -> Option<LocalMatch>;
}
