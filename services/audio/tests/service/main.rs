//! The audio service on a real broker: microphone sources, playback into a WAV sink, controls,
//! malformed payloads, and sound-card handling.

mod controls;
mod devices;
mod mic;
mod speaker;
mod util;
