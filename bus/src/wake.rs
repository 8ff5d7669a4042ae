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
