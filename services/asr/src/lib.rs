//! Hearth's speech recognition: each captured utterance (`hearth/<site>/listen/utterance`) is
//! transcribed by whisper.cpp with fast greedy decoding and published as
//! `hearth/<site>/asr/transcript`, or as `hearth/<site>/asr/not_heard` when it held no words, only
//! noise tags, or one of whisper's stock hallucinations ("Thank you."). The model is read into RAM once
//! at start and warmed up; the encoder context is scaled to each utterance's length.
//!
//! whisper-rs cannot share a binary with llama-cpp-2 (both link ggml), so ASR runs as its own
//! process, `hearth-asr run`, which `hearth up` spawns.
//!
//! # Layout
//! - [`config`]: the `[asr]` table.
//! - [`audio`]: s16 PCM → 16 kHz mono f32 (down-mixing, band-limited resampling, padding).
//! - [`model`]: checks a ggml model file completely before whisper.cpp may abort on it.
//! - [`engine`]: [`Recognizer`], the synchronous whisper.cpp wrapper.
//! - [`filter`]: non-speech tags and hallucinations.
//! - [`runaway`]: decoding loops, which send a scaled-context decode back for the full context.
//! - [`service`]: [`run`], the bus shell around a dedicated recogniser thread.
//! - [`synth`]: random-weight models of real shapes, for the benchmark.
//! - [`bench`]: `hearth-asr bench`.
//! - [`files`]: WAV files in, transcripts out (`hearth transcribe`).
//! - [`wer`]: word error rate with number, case and punctuation normalisation.
//! - [`eval`]: `hearth eval asr MANIFEST`.
//! - [`reference`]: `hearth-asr bench --reference`, beside faster-whisper.

pub mod audio;
pub mod bench;
pub mod config;
pub mod engine;
pub mod eval;
pub mod files;
pub mod filter;
pub mod model;
pub mod reference;
pub mod runaway;
pub mod service;
pub mod synth;
pub mod wer;

use thiserror::Error;

pub use config::AsrConfig;
pub use engine::{DecodeOptions, EngineError, Recognition, Recognizer, Segment};
pub use service::run;

#[derive(Debug, Error)]
pub enum AsrError {
    #[error(transparent)]
    Bus(#[from] hearth_bus::BusError),
    #[error("cannot start the recogniser thread: {0}")]
    Thread(std::io::Error),
}
