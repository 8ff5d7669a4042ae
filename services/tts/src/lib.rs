//! The TTS service: sentences in on `hearth/<site>/tts/say`, audio out as `PlayChunk`s on
//! `hearth/<site>/audio/play`, one `Spoken` per sentence on `hearth/<site>/tts/spoken`. Each sentence
//! is synthesized as soon as it arrives, so the first plays while the LLM writes the next. A Piper voice
//! speaks when one is installed; otherwise espeak-ng's own voice does, so a fresh install speaks at once.
//!
//! # Layout
//! - [`config`]: the `[tts]` table.
//! - [`normalize`]: numbers, times, units, currency and abbreviations made speakable; sentence splitting.
//! - [`espeak`]: libespeak-ng on its one owner thread: IPA clauses and the fallback voice.
//! - [`phonemes`]: a Piper voice config and text → phoneme ids, as piper-tts does it.
//! - [`piper`]: the Piper ONNX voice through ONNX Runtime.
//! - [`engine`]: Piper or espeak-ng behind one synchronous `synthesize`.
//! - [`voices`]: finding a Piper voice by path, name or part of a name.
//! - [`service`]: the bus shell: per-site queues, cancellation, chunked streaming.
//! - [`bench`]: real-time factor and time to first audio, beside Python piper-tts.

pub mod bench;
pub mod config;
pub mod engine;
pub mod espeak;
pub mod normalize;
pub mod phonemes;
pub mod piper;
pub mod service;
pub mod voices;

use hearth_bus::BusError;
use thiserror::Error;

pub use config::TtsConfig;
pub use engine::Engine;
pub use service::run;

#[derive(Debug, Clone, Error)]
pub enum TtsError {
    #[error("bus: {0}")]
    Bus(String),
    #[error("espeak-ng: {0}")]
    Espeak(String),
    #[error("{0}")]
    Voice(String),
    #[error("{0}")]
    Runtime(String),
    #[error("synthesis failed: {0}")]
    Inference(String),
    #[error("{0}")]
    Bench(String),
}

impl From<BusError> for TtsError {
    fn from(e: BusError) -> Self {
        TtsError::Bus(e.to_string())
    }
}
