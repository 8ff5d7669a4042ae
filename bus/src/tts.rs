//! Text to speech: sentences in; audio goes out on `audio/play`.

use serde::{Deserialize, Serialize};

use crate::json_message;

/// Speak one sentence, on `hearth/<site>/tts/say`. A reply is one utterance of one or more sentences
/// with the same `utterance_id`, in `seq` order, the last with `last = true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Say {
    pub utterance_id: String,
    /// The turn, absent for announcements (timers, Home Assistant's notify).
    #[serde(default)]
    pub session_id: Option<String>,
    /// Sentence number within the utterance, from 0.
    pub seq: u32,
    pub text: String,
    /// True on the final sentence of the utterance.
    pub last: bool,
}
json_message!(Say, "tts/say");

/// A sentence was synthesized, on `hearth/<site>/tts/spoken`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spoken {
    pub utterance_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    pub seq: u32,
    /// Audio produced, milliseconds.
    pub audio_ms: u64,
    /// Synthesis time, milliseconds.
    pub synth_ms: u64,
    /// Which voice spoke (`piper:en_US-lessac-medium`, `espeak-ng:en-us`).
    pub voice: String,
    /// Set when synthesis failed; no audio was sent for this sentence.
    #[serde(default)]
    pub error: Option<String>,
}
json_message!(Spoken, "tts/spoken");
