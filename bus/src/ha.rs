//! The Home Assistant bridge's own topics: commands that Home Assistant publishes in its plain payloads
//! (`ON`/`OFF`, a number, free text, `PRESS`), events in the shape HA's `event` platform needs (a wake
//! word, a timer that finished, listening started or ended, a reply spoken), and retained states that
//! the bus itself only has as events (the last transcript and reply, the timers in HA's units, the
//! health of a site), so Home Assistant reads them after its own restart instead of "unknown".
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
    /// Switch: `ON` switches the camera on, `OFF` off (no picture is taken) → `camera/enabled/set`.
    Camera,
}

impl HaCommand {
    pub const ALL: [HaCommand; 7] = [
        HaCommand::MicMute,
        HaCommand::WakeWord,
        HaCommand::Volume,
        HaCommand::Announce,
        HaCommand::Ask,
        HaCommand::Listen,
        HaCommand::Camera,
    ];

    /// The `<entity>` level of the command topic.
    pub fn entity(self) -> &'static str {
        match self {
            HaCommand::MicMute => "mic_mute",
            HaCommand::WakeWord => "wake_word",
            HaCommand::Volume => "volume",
            HaCommand::Announce => "announce",
            HaCommand::Ask => "ask",
            HaCommand::Listen => "listen",
            HaCommand::Camera => "camera",
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

/// A timer finished, on `hearth/<site>/ha/timer` (event type `finished`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaTimerEvent {
    /// Always `finished`.
    pub event_type: String,
    pub timer_id: String,
    /// Spoken name, if it had one.
    #[serde(default)]
    pub name: Option<String>,
    /// Length it was set for, seconds.
    pub duration_s: f64,
    /// How late it fired, seconds (large when it fell due while the timers service was down).
    pub late_s: f64,
    /// The announcement spoken.
    pub sentence: String,
}
json_message!(HaTimerEvent, "ha/timer");

impl HaTimerEvent {
    pub const EVENT_TYPE: &'static str = "finished";
}

/// Listening started or ended, on `hearth/<site>/ha/listening`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaListeningEvent {
    /// `started` or `ended`.
    pub event_type: String,
    pub session_id: String,
    /// Why: `wake`, `follow_up`, `push_to_talk` when started; `silence`, `max_length`, `no_speech`,
    /// `cancelled` when ended.
    pub reason: String,
    /// Speech heard, seconds (ended only).
    #[serde(default)]
    pub speech_s: Option<f64>,
}
json_message!(HaListeningEvent, "ha/listening");

impl HaListeningEvent {
    pub const STARTED: &'static str = "started";
    pub const ENDED: &'static str = "ended";
}

/// A reply was spoken (its audio finished or was cut), on `hearth/<site>/ha/reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaReplyEvent {
    /// Always `spoken`.
    pub event_type: String,
    pub session_id: String,
    /// What the user said.
    pub request: String,
    /// What the assistant said.
    pub text: String,
    /// True when a stop or a new wake word cut it short.
    pub interrupted: bool,
}
json_message!(HaReplyEvent, "ha/reply");

impl HaReplyEvent {
    pub const EVENT_TYPE: &'static str = "spoken";
}

/// A message or call to hand off, on `hearth/<site>/ha/message`: `message/send` and `call/start` for the
/// room's `event` entity, so a Home Assistant automation (the shipped blueprint) can do it with its
/// `notify` services and answer on `result_topic`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaMessageEvent {
    /// `send` (a message) or `call`.
    pub event_type: String,
    /// Echo it in the result.
    pub request_id: String,
    /// The contact's name.
    pub contact: String,
    /// The contact's channel: for the blueprint, a notify service name (`signal`, `telegram`).
    pub channel: String,
    /// Where on the channel (a phone number, a chat id); may be empty.
    pub address: String,
    /// The message (empty for a call).
    pub text: String,
    /// Where the result goes: `hearth/<site>/message/result` or `hearth/<site>/call/result`.
    pub result_topic: String,
}
json_message!(HaMessageEvent, "ha/message");

impl HaMessageEvent {
    pub const SEND: &'static str = "send";
    pub const CALL: &'static str = "call";
}

/// The last request of a site, spoken or typed (retained), on `hearth/<site>/ha/last_transcript`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaLastTranscript {
    pub text: String,
    /// `asr` or `typed`.
    pub source: String,
    pub session_id: String,
    /// When it arrived, RFC 3339 (UTC).
    pub at: String,
}
json_message!(HaLastTranscript, "ha/last_transcript", retain);

/// The last reply of a site (retained), on `hearth/<site>/ha/last_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaLastReply {
    pub text: String,
    pub request: String,
    /// `intent`, `llm`, `tool` or `fallback`.
    pub source: String,
    #[serde(default)]
    pub tool: Option<String>,
    /// From transcript to the last sentence, seconds.
    pub elapsed_s: f64,
    pub session_id: String,
    /// When it was complete, RFC 3339 (UTC).
    pub at: String,
}
json_message!(HaLastReply, "ha/last_reply", retain);

/// One running timer in Home Assistant's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaTimer {
    #[serde(default)]
    pub name: Option<String>,
    /// Length it was set for, seconds.
    pub duration_s: f64,
    /// When it is due, RFC 3339 (UTC).
    pub due: String,
}

/// The running timers of a site (retained), on `hearth/<site>/ha/timers`: `timer/state` with
/// seconds and timestamps instead of epoch milliseconds, published for every room (zero timers
/// included) so a new room never reads "unknown".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaTimers {
    /// How many are running.
    pub count: usize,
    /// When the soonest is due, RFC 3339 (UTC); absent with none running.
    #[serde(default)]
    pub next_due: Option<String>,
    /// The running timers, soonest first.
    pub timers: Vec<HaTimer>,
}
json_message!(HaTimers, "ha/timers", retain);

/// Whether the services a site needs are well (retained), on `hearth/<site>/ha/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaHealth {
    /// True when any service the site uses is not `online`.
    pub problem: bool,
    /// One line per service that is not online: `asr: unavailable: <detail with the fix command>`.
    pub problems: Vec<String>,
}
json_message!(HaHealth, "ha/health", retain);

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
