//! The seam between the conversation and whatever recognises requests without the LLM: a matcher looks at
//! a transcript and either answers it locally or leaves it to the LLM. The brain's matcher is
//! [`TemplateMatcher`](crate::templates::TemplateMatcher) (hearth-intents' sentence templates); another
//! can replace it without touching the conversation.

use serde_json::Value;

use crate::served::ServedTools;

/// How a request recognised locally is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalMatch {
    /// Call this tool; its finished sentence is the reply.
    Tool { tool: String, arguments: Value },
    /// Speak this sentence as the whole reply (a question back, such as "How long should the timer be?").
    Say(String),
    /// Stop what is playing; nothing is said.
    StopPlayback,
}

/// What the conversation knows around one transcript.
#[derive(Debug, Clone, Copy)]
pub struct LocalContext<'a> {
    pub site: &'a str,
    /// The transcript was heard in the follow-up window of the site's previous reply, so "what about
    /// tomorrow?" may continue the previous request.
    pub follow_up: bool,
    /// The tools some online service answers: a call nobody answers must not be made.
    pub tools: &'a ServedTools,
}

/// Recognises requests that need no language model.
pub trait LocalMatcher: Send {
    /// `None`: not recognised (or its tool is served by nobody), ask the LLM.
    fn match_local(&mut self, text: &str, context: &LocalContext<'_>) -> Option<LocalMatch>;

    /// The site's conversation ended: whatever was kept for its follow-ups is forgotten.
    fn end_conversation(&mut self, _site: &str) {}
}
