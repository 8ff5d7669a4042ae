//! Wake word detection and its on/off switch.

use serde::{Deserialize, Serialize};

use crate::json_message;

/// A wake word was heard; this starts a turn. On `hearth/<site>/wake/detected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WakeDetected {
    /// The new turn's id; every later event of the turn carries it.
    pub session_id: String,
    /// Model name of the word, e.g. `hey_jarvis`.
    pub word: String,
    /// Classifier score, 0 to 1.
    pub score: f32,
    /// When the word ended, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}
json_message!(WakeDetected, "wake/detected");

/// Switch wake word detection on or off, on `hearth/<site>/wake/set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetWake {
    pub enabled: bool,
}
json_message!(SetWake, "wake/set");

/// Whether detection is on and which words are loaded (retained), on `hearth/<site>/wake/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WakeState {
    pub enabled: bool,
    #[serde(default)]
    pub words: Vec<String>,
}
json_message!(WakeState, "wake/state", retain);

/// The name the wake word arbiter runs under (`hearth/<site>/service/arbiter/status`). While one is
/// `online`, wake services publish [`WakeHeard`] and leave `wake/detected` to it.
pub const ARBITER_SERVICE: &str = "arbiter";

/// A site's wake service heard a wake word: a candidate for the arbiter, on `hearth/<site>/wake/heard`.
/// The arbiter answers with `wake/detected` at the one site that runs the turn and [`WakeLost`] at the
/// others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WakeHeard {
    /// The turn's id if this site wins (carried over to `wake/detected`).
    pub session_id: String,
    /// Model name of the word, e.g. `hey_jarvis`.
    pub word: String,
    /// Classifier score, 0 to 1.
    pub score: f32,
    /// RMS level of the last second of audio up to the end of the word, dBFS (-120 for silence).
    pub level_dbfs: f32,
    /// When the word ended, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The assistant is speaking at this site and barge-in is on: if this site wins, the arbiter stops
    /// playback (`audio/stop {reason: wake}`) before `wake/detected`.
    #[serde(default)]
    pub barge_in: bool,
}
json_message!(WakeHeard, "wake/heard");

/// Why a site's wake word did not start a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostReason {
    /// Another site heard the same word with better evidence (or is in a conversation).
    Weaker,
    /// Heard after the decision for the same word had been made.
    Late,
    #[serde(other)]
    Unknown,
}

/// This site heard the wake word but another site runs the turn, on `hearth/<site>/wake/lost`. The
/// site stays idle: no chime, no capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WakeLost {
    /// The candidate's session id (no turn runs under it).
    pub session_id: String,
    pub word: String,
    /// The site that runs the turn.
    pub winner_site: String,
    pub reason: LostReason,
}
json_message!(WakeLost, "wake/lost");
