//! Listening: capturing one utterance after a wake, a follow-up, or a push-to-talk.

use serde::{Deserialize, Serialize};

use crate::{json_message, msgpack_message};

/// Why the assistant is listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenReason {
    Wake,
    /// After a reply, without the wake word.
    FollowUp,
    /// A button or command asked for it.
    PushToTalk,
    #[serde(other)]
    Unknown,
}

/// Ask the listener to capture an utterance, on `hearth/<site>/listen/start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartListening {
    /// The turn; absent means "start a new one" (the listener picks an id).
    #[serde(default)]
    pub session_id: Option<String>,
    pub reason: ListenReason,
    /// Give up when no speech starts within this many milliseconds (follow-up windows); absent
    /// means the listener's default.
    #[serde(default)]
    pub no_speech_timeout_ms: Option<u64>,
}
json_message!(StartListening, "listen/start");

/// Capture began, on `hearth/<site>/listen/started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListeningStarted {
    pub session_id: String,
    pub reason: ListenReason,
    pub timestamp_ms: i64,
}
json_message!(ListeningStarted, "listen/started");

/// Why capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Speech followed by the configured silence: the normal end.
    Silence,
    /// The hard cap was reached (steady noise or a very long sentence).
    MaxLength,
    /// Nothing was said before the timeout; no utterance follows.
    NoSpeech,
    /// Cancelled by a stop or a new wake; no utterance follows.
    Cancelled,
    #[serde(other)]
    Unknown,
}

/// Capture ended, on `hearth/<site>/listen/ended`. For `silence` and `max_length` an utterance follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListeningEnded {
    pub session_id: String,
    pub reason: EndReason,
    /// Speech detected in the capture, milliseconds.
    pub speech_ms: u64,
    /// Length of the capture, milliseconds.
    pub duration_ms: u64,
    pub timestamp_ms: i64,
}
json_message!(ListeningEnded, "listen/ended");

/// The captured utterance for speech recognition (msgpack), on `hearth/<site>/listen/utterance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    pub session_id: String,
    /// Sample rate in Hertz (16000 from the listener; ASR resamples anything else).
    pub sample_rate_hz: u32,
    pub channels: u16,
    /// Signed 16-bit little-endian PCM.
    #[serde(with = "serde_bytes")]
    pub pcm: Vec<u8>,
    /// End of capture, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}
msgpack_message!(Utterance, "listen/utterance");
