//! Hearth's listener: after a wake word, a follow-up request or a push-to-talk, it captures the site's
//! microphone until the utterance is over and publishes it for speech recognition. The engine,
//! [`Endpointer`], decides the end from Silero VAD with hard limits, so steady noise never keeps the
//! recording open.
//!
//! # Layout
//! - [`vad`]: Silero VAD v5/v6 on ONNX Runtime (streaming state and context).
//! - [`endpointer`]: [`Endpointer`], the engine: start of speech, trailing silence, timeouts, cap.
//! - [`config`]: the `[listen]` table.
//! - [`service`]: [`run`], the bus shell.
//! - [`bench`]: `hearth bench wake`, CPU per second of audio for wake and VAD beside the Python reference.

pub mod bench;
pub mod config;
pub mod endpointer;
pub mod service;
pub mod vad;

pub use config::ListenConfig;
pub use endpointer::{Endpointer, EndpointerSettings, Ending};
pub use service::{run, ListenError};
