//! Integration tests of the TTS service: phoneme ids against Python piper-tts, the service on a real
//! broker with the project's fixture voices and the espeak-ng fallback, and the real voice never waking
//! the wake word.

mod ids;
mod self_voice;
mod service;
mod util;
mod voices;
