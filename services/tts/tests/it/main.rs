//! Integration tests of the TTS service: phoneme ids against Python piper-tts, and the service on a real
//! broker with the project's fixture voices and the espeak-ng fallback.

mod ids;
mod service;
mod util;
mod voices;
