//! Music: the stream from the music service to a room's speaker, its flow control, the player's
//! state and the controls automations use.
//!
//! The music service sends mono PCM at the speaker's rate in `MusicChunk`s, never more than its lead
//! (default 1.5 s) ahead of what the audio service reports as played in `MusicFeedback`; a speaker
//! that stops reporting stops the stream instead of filling a queue. The audio service mixes music
//! under speech and ducks it; a late or lost chunk is skipped, never waited for.

use serde::{Deserialize, Serialize};

use crate::{json_message, msgpack_message};

/// The music tools the brain's fast path calls (not offered to the language model: they are
/// recognised by the intent templates, and the LLM's cached prefix depends on its catalog).
pub mod tools {
    pub const PLAY: &str = "play_music";
    pub const PAUSE: &str = "pause_music";
    pub const RESUME: &str = "resume_music";
    pub const STOP: &str = "stop_music";
    pub const NEXT: &str = "next_track";
    pub const PREVIOUS: &str = "previous_track";
    pub const NOW_PLAYING: &str = "now_playing";
    pub const SHUFFLE: &str = "shuffle_music";
    pub const REPEAT: &str = "repeat_music";
    /// Every music tool, in a fixed order.
    pub const ALL: &[&str] = &[PLAY, PAUSE, RESUME, STOP, NEXT, PREVIOUS, NOW_PLAYING, SHUFFLE, REPEAT];
}

/// A piece of a music stream (msgpack), on `hearth/<site>/music/chunk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicChunk {
    /// One track, or one stretch of a radio station; a new id after every pause, skip or seek.
    pub stream_id: String,
    /// Chunk number within the stream, from 0; a gap is a lost chunk, skipped.
    pub seq: u32,
    /// Sample rate, Hertz: the speaker's, as its `music/sink` says (the audio service resamples
    /// any other).
    pub sample_rate_hz: u32,
    /// Interleaved channels (1 from the music service).
    pub channels: u16,
    /// Signed 16-bit little-endian PCM; may be empty on the closing chunk.
    #[serde(with = "serde_bytes")]
    pub pcm: Vec<u8>,
    /// True on the last chunk of the stream: the next stream follows without a gap.
    pub last: bool,
}
msgpack_message!(MusicChunk, "music/chunk");

/// How far the speaker is into a stream, on `hearth/<site>/music/feedback`: every 250 ms while it
/// plays, and when it ends. The music service's flow control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicFeedback {
    pub stream_id: String,
    /// Audio of the stream played so far, milliseconds.
    pub played_ms: u64,
    /// Audio of the stream received and not yet played, milliseconds.
    pub buffered_ms: u64,
    /// Chunks skipped because they never came (or came after their turn).
    pub lost_chunks: u32,
    /// The stream's last chunk was played (or the stream was dropped by a flush).
    pub finished: bool,
    /// Music is ducked under speech right now.
    pub ducked: bool,
}
json_message!(MusicFeedback, "music/feedback");

/// Drop the music that is queued at the speaker, fading it out in a few milliseconds, on
/// `hearth/<site>/music/flush`. Sent by the music service on pause, stop and skip; chunks of a
/// flushed stream that arrive later are dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicFlush {
    /// Why, for logs: `pause`, `stop`, `next`, `previous`, `play`.
    pub reason: String,
}
json_message!(MusicFlush, "music/flush");

/// The speaker's format (retained), on `hearth/<site>/music/sink`, from the audio service once its
/// speaker is open: the music service sends at this rate so that nothing is resampled twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicSink {
    /// Hertz.
    pub sample_rate_hz: u32,
}
json_message!(MusicSink, "music/sink", retain);

/// Playing, paused or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlaybackState {
    Playing,
    Paused,
    #[default]
    Stopped,
    #[serde(other)]
    Unknown,
}

/// Where the music comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MusicSource {
    /// The user's own files.
    Library,
    /// An internet radio station.
    Radio,
    #[serde(other)]
    Unknown,
}

/// Repeat mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RepeatMode {
    #[default]
    Off,
    /// The current track again and again.
    One,
    /// The whole queue, from the start when it ends.
    All,
    #[serde(other)]
    Unknown,
}

/// What plays (retained), on `hearth/<site>/music/state`, on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MusicState {
    pub state: PlaybackState,
    #[serde(default)]
    pub source: Option<MusicSource>,
    /// Track title (library), or the station's current title when it sends one (radio).
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub artist: Option<String>,
    #[serde(default)]
    pub album: Option<String>,
    /// Station name (radio).
    #[serde(default)]
    pub station: Option<String>,
    /// Position in the queue, from 0, and its length (library).
    #[serde(default)]
    pub queue_position: Option<u32>,
    #[serde(default)]
    pub queue_length: Option<u32>,
    pub shuffle: bool,
    pub repeat: RepeatMode,
    pub timestamp_ms: i64,
}
json_message!(MusicState, "music/state", retain);

/// A control for automations and Home Assistant, on `hearth/<site>/music/control`: the same as the
/// voice controls, answered with a `music/state`, no speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicControl {
    pub action: MusicAction,
    /// For `play`: what to play, as it would be said ("Kind of Blue", "jazz"); absent shuffles the
    /// library.
    #[serde(default)]
    pub query: Option<String>,
}
json_message!(MusicControl, "music/control");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MusicAction {
    Play,
    Pause,
    Resume,
    /// Pause when playing, resume when paused.
    Toggle,
    Stop,
    Next,
    Previous,
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn chunks_are_compact_and_controls_readable() {
        let c = MusicChunk { stream_id: "s".into(), seq: 3, sample_rate_hz: 48_000, channels: 1, pcm: vec![1; 9600], last: false };
        let bytes = c.to_payload().unwrap();
        assert!(bytes.len() < 9700, "{}", bytes.len());
        assert_eq!(MusicChunk::from_payload(&bytes).unwrap(), c);
        let control = MusicControl::from_payload(br#"{"action":"toggle"}"#).unwrap();
        assert_eq!(control.action, MusicAction::Toggle);
        assert_eq!(MusicControl::from_payload(br#"{"action":"dance"}"#).unwrap().action, MusicAction::Unknown);
        let state = MusicState::from_payload(br#"{"state":"playing","shuffle":true,"repeat":"all","timestamp_ms":1}"#).unwrap();
        assert_eq!((state.state, state.repeat, state.source), (PlaybackState::Playing, RepeatMode::All, None));
    }
}
