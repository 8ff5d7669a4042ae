//! The Home Assistant bridge's own topics: commands that Home Assistant publishes in its plain payloads
//! (`ON`/`OFF`, a number, free text, `PRESS`) and the wake event in the shape HA's `event` platform needs.
//! The bridge turns each command into the typed bus message of the service that owns it.

use serde::{Deserialize, Serialize};

use crate::{json_message, topic};

/// What Home Assistant can command at a site. Each is published by HA on
/// `hearth/<site>/ha/<entity>/set` with HA's plain payload (not JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HaCommand {
    /// Switch: `ON` mutes the microphone, `OFF` unmutes → `audio/mic/set`.
    MicMute,
    /// Switch: `ON` enables wake word detection, `OFF` disables it → `wake/set`.
    WakeWord,
    /// Number: volume in percent, 0 to 100 (HA may send `42` or `42.0`) → `audio/volume/set`.
    Volume,
    /// Notify: any text to speak as an announcement → `tts/say`.
    Announce,
    /// Text: a request handled as if spoken → `asr/transcript` with source `typed`.
    Ask,
    /// Button: `PRESS` starts listening without the wake word → `listen/start` (push to talk).
    Listen,
}

impl HaCommand {
    pub const ALL: [HaCommand; 6] =
        [HaCommand::MicMute, HaCommand::WakeWord, HaCommand::Volume, HaCommand::Announce, HaCommand::Ask, HaCommand::Listen];

    /// The `<entity>` level of the command topic.
    pub fn entity(self) -> &'static str {
        match self {
            HaCommand::MicMute => "mic_mute",
            HaCommand::WakeWord => "wake_word",
            HaCommand::Volume => "volume",
            HaCommand::Announce => "announce",
            HaCommand::Ask => "ask",
            HaCommand::Listen => "listen",
        }
    }

    pub fn from_entity(entity: &str) -> Option<HaCommand> {
        HaCommand::ALL.into_iter().find(|c| c.entity() == entity)
    }

    /// `hearth/<site>/ha/<entity>/set`.
    pub fn topic(self, site: &str) -> String {
        topic::topic(site, &format!("ha/{}/set", self.entity()))
    }

    /// Parses `ha/<entity>/set` (the part after `hearth/<site>/`).
    pub fn from_suffix(suffix: &str) -> Option<HaCommand> {
        let entity = suffix.strip_prefix("ha/")?.strip_suffix("/set")?;
        HaCommand::from_entity(entity)
    }
}

/// Subscription filter for every HA command on every site: `hearth/+/ha/+/set`.
pub fn command_filter() -> String {
    topic::topic("+", "ha/+/set")
}

/// A wake word was heard, republished for Home Assistant's `event` entity on `hearth/<site>/ha/wake`
/// (HA requires the `event_type` key, one of the types announced in discovery).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaWakeEvent {
    /// Always [`HaWakeEvent::EVENT_TYPE`].
    pub event_type: String,
    /// Model name of the word, e.g. `hey_jarvis`.
    pub word: String,
    /// Classifier score, 0 to 1.
    pub score: f32,
    /// The turn the wake started.
    pub session_id: String,
    /// When the word ended, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}
json_message!(HaWakeEvent, "ha/wake");

impl HaWakeEvent {
    /// The one event type of the wake event entity.
    pub const EVENT_TYPE: &'static str = "detected";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_topics_roundtrip() {
        for c in HaCommand::ALL {
            let t = c.topic("kitchen");
            let (site, suffix) = topic::split(&t).unwrap();
            assert_eq!(site, "kitchen");
            assert_eq!(HaCommand::from_suffix(suffix), Some(c));
        }
        assert_eq!(HaCommand::from_suffix("ha/wake"), None);
        assert_eq!(HaCommand::from_suffix("ha/nope/set"), None);
    }
}
