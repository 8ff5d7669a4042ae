//! Speech recognition results.

use serde::{Deserialize, Serialize};

use crate::json_message;

/// Where a transcript came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptSource {
    /// Speech recognition.
    #[default]
    Asr,
    /// Typed: `hearth say`, Home Assistant's "ask" entity.
    Typed,
    #[serde(other)]
    Unknown,
}

/// What the user said, on `hearth/<site>/asr/transcript`. This is what the brain answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub session_id: String,
    pub text: String,
    #[serde(default)]
    pub source: TranscriptSource,
    /// Length of the audio, milliseconds (0 when typed).
    #[serde(default)]
    pub audio_ms: u64,
    /// Recognition time, milliseconds (0 when typed).
    #[serde(default)]
    pub processing_ms: u64,
}
json_message!(Transcript, "asr/transcript");

/// Why nothing usable was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotHeardReason {
    /// No words at all.
    Empty,
    /// Only non-speech (noise markers, whisper's hallucinated "Thank you.").
    NonSpeech,
    /// The recogniser has no model or failed.
    Unavailable,
    #[serde(other)]
    Unknown,
}

/// The utterance held nothing to answer, on `hearth/<site>/asr/not_heard`; the brain says a short
/// "I didn't catch that".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotHeard {
    pub session_id: String,
    pub reason: NotHeardReason,
    /// The raw text that was discarded, if any (for logs).
    #[serde(default)]
    pub detail: Option<String>,
}
json_message!(NotHeard, "asr/not_heard");
