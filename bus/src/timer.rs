//! Timers: their state for Home Assistant and the announcement when one is due. Timers are set,
//! cancelled, extended and queried through tool calls (`set_timer`, `cancel_timer`, `extend_timer`,
//! `timer_status`).

use serde::{Deserialize, Serialize};

use crate::json_message;

/// One running timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub id: String,
    /// Spoken name ("pasta"), if given.
    #[serde(default)]
    pub name: Option<String>,
    pub site: String,
    /// Length asked for, milliseconds.
    pub duration_ms: u64,
    /// When it is due, milliseconds since the Unix epoch (absolute, so it survives restarts).
    pub due_at_ms: i64,
    /// When it was set, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// The running timers of a site (retained), on `hearth/<site>/timer/state`, soonest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerState {
    pub timers: Vec<Timer>,
}
json_message!(TimerState, "timer/state", retain);

/// A timer is due, on `hearth/<site>/timer/done`. The timers service also asks TTS to announce it
/// and plays the timer chime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerDone {
    pub timer: Timer,
    /// The announcement, e.g. "Your pasta timer is done."
    pub sentence: String,
    /// How late it fired, milliseconds (large when it fell due while the service was down).
    pub late_ms: u64,
}
json_message!(TimerDone, "timer/done");
