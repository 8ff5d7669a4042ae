//! One turn at a site: what was asked, what has been said so far, and, while it is unanswered, what it
//! waits for and until when.

use std::time::Instant;

use hearth_bus::asr::TranscriptSource;
use hearth_bus::brain::ReplySource;
use serde_json::Value;

pub use crate::conversation::HandoffKind;

/// A request being answered: the spoken reply is one utterance of one or more sentences.
#[derive(Debug, Clone)]
pub struct Turn {
    pub session_id: String,
    /// What the user said; empty for a capture whose transcript never came or held nothing.
    pub request: String,
    pub source: TranscriptSource,
    pub started: Instant,
    pub utterance_id: String,
    /// Next sentence number.
    pub seq: u32,
    pub spoken: Vec<String>,
    pub reply_source: ReplySource,
    /// The tool called and its arguments (remembered for follow-ups).
    pub tool: Option<(String, Value)>,
}

impl Turn {
    /// A turn for a transcript; the local matcher answers it unless the LLM takes it over.
    pub fn new(session_id: String, request: String, source: TranscriptSource, started: Instant, utterance_id: String) -> Turn {
        Turn { session_id, request, source, started, utterance_id, seq: 0, spoken: Vec::new(), reply_source: ReplySource::Intent, tool: None }
    }

    /// A spoken turn that has no request text (yet, or ever): waiting for its transcript, or about to be
    /// answered with a fallback.
    pub fn without_request(session_id: String, started: Instant, utterance_id: String) -> Turn {
        let mut turn = Turn::new(session_id, String::new(), TranscriptSource::Asr, started, utterance_id);
        turn.reply_source = ReplySource::Fallback;
        turn
    }
}

/// What an unanswered turn waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Waiting {
    /// Speech recognition's transcript (or `not_heard`) for a capture that just ended.
    Transcript,
    /// A tool result with this call id.
    Tool { call_id: String },
    /// The vision service's answer to this `look` call: its sentences, spoken as they arrive (`streamed`),
    /// then its result.
    Look { call_id: String, streamed: Vec<String> },
    /// The LLM's answer to this request; `answering` once a first sentence arrived.
    Llm { request_id: String, answering: bool },
    /// A message or call handler's result for this request, to or for `contact`.
    Handoff { request_id: String, kind: HandoffKind, contact: String },
}

/// A turn that waits for something, and the moment it stops waiting and says why.
#[derive(Debug, Clone)]
pub struct Pending {
    pub turn: Turn,
    pub waiting: Waiting,
    pub deadline: Instant,
}

/// A reply being played: when it has played, the brain may open a follow-up window.
#[derive(Debug, Clone)]
pub struct Playback {
    pub utterance_id: String,
    pub session_id: String,
    pub follow_up: bool,
    pub deadline: Instant,
}
