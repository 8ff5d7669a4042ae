//! Train your own wake word: `hearth wakeword record | train | eval`. The seed spent a week on its
//! custom wake word and every failure was in the data, so the data is what this crate builds:
//! positives from every installed voice and the user's own takes, near-misses spoken by the *same*
//! voices, negatives (general speech, room noise, the assistant's chimes and its own voice), noise mixed
//! into positives, reverb, gain and speed. Features come from Hearth's own openWakeWord front end and
//! are cached on disk; the classifier is trained in Rust with candle and written as a standard
//! openWakeWord `.onnx` model that Python `openwakeword` and Hearth's wake service both load.
//!
//! # Layout
//! - [`nearmiss`]: near-miss phrases from the phrase's words and espeak-ng phonemes.
//! - [`voices`]: the synthetic speakers (Piper voices and speakers, espeak-ng voices and variants).
//! - [`audio`]: WAV in and out, resampling, noise, reverb, mixing, level checks.
//! - [`features`]: mel → embedding through the openWakeWord front end, in batches, cached on disk.
//! - [`clips`]: rendering the plan into audio and cached features, and cutting training windows.
//! - [`dataset`]: the plan of clips (what is said, by whom, with which augmentation) and the windows
//!   the classifier sees.
//! - [`model`]: the classifier in candle and its training loop.
//! - [`onnx_out`]: writing the classifier as an ONNX protobuf.
//! - [`eval`]: the report: positives caught, in noise, near-miss fires, false accepts per hour, chimes,
//!   and a suggested threshold.
//! - [`record`]: guided takes from WAV files (or a microphone capture), with level checks.
//! - [`train`]: the whole `train` command, step by step.

pub mod audio;
pub mod clips;
pub mod dataset;
pub mod eval;
pub mod features;
pub mod model;
pub mod nearmiss;
pub mod onnx_out;
pub mod record;
pub mod train;
pub mod voices;

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum WakewordError {
    #[error("bad wake phrase: {0}")]
    BadPhrase(String),
    #[error("speech synthesis: {0}")]
    Tts(#[from] hearth_tts::TtsError),
    #[error(transparent)]
    Onnx(#[from] hearth_wake::onnx::OnnxError),
    #[error("no voices to synthesize with: {0}")]
    NoVoices(String),
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    #[error("recording {path}: {why}")]
    BadRecording { path: PathBuf, why: String },
    #[error("training: {0}")]
    Training(String),
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("interrupted; run the same command again to resume (features are cached)")]
    Interrupted,
}

impl WakewordError {
    pub(crate) fn file(path: impl Into<PathBuf>, why: impl std::fmt::Display) -> Self {
        WakewordError::File { path: path.into(), why: why.to_string() }
    }
}
