//! One turn in progress at a site: what was asked, what has been said so far, and what we wait for.

use std::time::Instant;

use hearth_bus::asr::TranscriptSource;
use hearth_bus::brain::ReplySource;
use serde_json::Value;

/// What the turn is waiting for.
#[derive(Debug, Clone, PartialEq)]
pub enum Waiting {
    /// Speech recognition's transcript (or `not_heard`) for a capture that just ended.
    Transcript,
    /// A tool result with this call id.
    Tool { call_id: String },
    /// The LLM's answer to this request; `answering` once a first event arrived.
    Llm { request_id: String, answering: bool },
}

#[derive(Debug, Clone)]
pub struct Turn {
    pub session_id: String,
    pub request: String,
    pub source: TranscriptSource,
    pub started: Instant,
    /// The spoken reply: one utterance of one or more sentences.
    pub utterance_id: String,
    /// Next sentence number.
    pub seq: u32,
    pub spoken: Vec<String>,
    pub reply_source: ReplySource,
    /// The tool called, its arguments and its structured result (kept for follow-ups).
    pub tool: Option<(String, Value)>,
    pub tool_data: Option<Value>,
    pub waiting: Waiting,
    pub deadline: Instant,
}

impl Turn {
    /// A spoken turn that has no request text (yet, or ever): waiting for its transcript, or about to be
    /// answered with a fallback.
    pub fn without_request(session_id: String, waiting: Waiting, deadline: Instant) -> Turn {
        Turn {
            session_id,
            request: String::new(),
            source: TranscriptSource::Asr,
            started: Instant::now(),
            utterance_id: hearth_bus::ids::new_id(),
            seq: 0,
            spoken: Vec::new(),
            reply_source: ReplySource::Fallback,
            tool: None,
            tool_data: None,
            waiting,
            deadline,
        }
    }
}

/// A reply being played: when it has played, the brain may open a follow-up window.
#[derive(Debug, Clone)]
pub struct Playback {
    pub utterance_id: String,
    pub session_id: String,
    pub follow_up: bool,
    pub deadline: Instant,
}
