//! The music service: the user's own library first, internet radio as the fallback, streamed on the
//! bus to the speaker of the room that asked.
//!
//! The library folder is indexed from the files' tags into a small JSON index that a rescan updates
//! incrementally. Play requests arrive as tool calls from the brain's fast path (`play_music`,
//! `pause_music`, …, no language model) and are answered with a finished sentence; the matched
//! tracks are decoded, downmixed and resampled to the speaker's rate and sent as `music/chunk`
//! messages, no further ahead of what the speaker has played than `lead_ms` (the audio service
//! reports its progress on `music/feedback`). The audio service mixes them under speech and ducks
//! them; a late or lost chunk costs music, never speech.
//!
//! # Layout
//! - [`config`]: the `[music]` table.
//! - [`library`]: the index: scanning, incremental updates, storage.
//! - [`normalize`]: text to comparable keys (case, punctuation, numbers, "the"), edit distance.
//! - [`matching`]: requests to selections, questions back on ties, the announcing sentences.
//! - [`playlist`]: M3U and PLS files.
//! - [`decode`]: symphonia decoding to mono at the speaker's rate.
//! - [`queue`]: the play queue: order, shuffle, repeat.
//! - [`stream`]: the producer thread of one stream, held back by a small channel.
//! - [`player`]: one room's player: queue, streams in flight, flow control.
//! - [`radio`]: internet radio: the station directory and HTTP streams.
//! - [`service`]: the bus side: tool calls, controls, chunks, states.

pub mod config;
pub mod decode;
pub mod library;
pub mod matching;
pub mod normalize;
pub mod player;
pub mod playlist;
pub mod queue;
pub mod radio;
pub mod service;
pub mod stream;

use std::path::PathBuf;

use thiserror::Error;

pub use config::MusicConfig;
pub use service::run;

#[derive(Debug, Error)]
pub enum MusicError {
    #[error(transparent)]
    Bus(#[from] hearth_bus::BusError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the music folder {path} does not exist: set `[music] library_dir`")]
    NoLibrary { path: PathBuf },
    #[error("{path}: no readable tags ({why})")]
    Tags { path: PathBuf, why: String },
    #[error("the music index cannot be written: {0}")]
    Index(String),
    /// A file or stream that cannot be played; the text is said after "I can't play that: ".
    #[error("{0}")]
    Decode(String),
    #[error("`{key}` {why}")]
    Config { key: &'static str, why: String },
}
