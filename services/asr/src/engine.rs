//! The recogniser: one whisper.cpp model in RAM, one decoding state, one utterance at a time.

use std::ffi::{c_char, c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Instant;

use thiserror::Error;
use tracing::{debug, error, info, warn};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

use crate::audio::WHISPER_RATE_HZ;
use crate::model::{self, ModelError, ModelSummary};
use crate::runaway;

/// Encoder frames per second of audio (1500 frames = 30 s).
pub const AUDIO_CTX_PER_SECOND: f64 = 50.0;
/// Encoder frames added to the utterance's own length: whisper needs some silence after the last
/// word to close the sentence.
pub const AUDIO_CTX_MARGIN: u32 = 64;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("whisper model {path} not found — run `hearth models pull {pull}`")]
    Missing { path: PathBuf, pull: String },
    #[error("cannot read whisper model {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("whisper model {path} is corrupt: {source} — run `hearth models pull {pull}` to fetch it again")]
    Corrupt { path: PathBuf, source: ModelError, pull: String },
    #[error("whisper.cpp could not load {path} — run `hearth models pull {pull}` to fetch it again")]
    Load { path: PathBuf, pull: String },
    #[error("language `{language}` needs a multilingual model; {path} is English-only")]
    Language { language: String, path: PathBuf },
    #[error("whisper.cpp failed: {0}")]
    Whisper(#[from] whisper_rs::WhisperError),
}

/// How to decode. Built from `AsrConfig` by the service, and directly by the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOptions {
    /// whisper language code, or `auto`.
    pub language: String,
    pub threads: u32,
    /// 1 = greedy.
    pub beam_size: u32,
    pub scale_audio_ctx: bool,
    /// Encoder frames.
    pub audio_ctx_floor: u32,
    pub temperature_fallback: bool,
    /// Stop a segment after this many tokens (0 = no limit). Only the benchmark sets it.
    pub max_tokens: u32,
    /// Decode with timestamp tokens, in segments, as whisper does by default. Off for spoken
    /// commands (fewer tokens to decode); `hearth transcribe --timestamps` turns it on.
    pub timestamps: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            language: "en".into(),
            threads: 4,
            beam_size: 1,
            scale_audio_ctx: true,
            audio_ctx_floor: 384,
            temperature_fallback: false,
            max_tokens: 0,
            timestamps: false,
        }
    }
}

/// One transcription.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    /// whisper's text, segments joined, untrimmed and unfiltered.
    pub text: String,
    /// Tokens decoded (text and special), for benchmarks.
    pub tokens: usize,
    /// Encoder frames used (1500 when not scaled).
    pub audio_ctx: u32,
    /// Highest no-speech probability among the segments.
    pub no_speech_prob: f32,
    pub processing_ms: u64,
    /// The segments with their times (one segment without timestamps).
    pub segments: Vec<Segment>,
    /// The scaled context's text looked like a decoding loop ([`crate::runaway`]), so this is the
    /// full context's.
    pub full_context_retry: bool,
}

/// A stretch of text with whisper's estimate of where it was said.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Milliseconds from the start of the audio.
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

pub struct Recognizer {
    // The state borrows the context's model through whisper-rs's Arc; both live together.
    state: WhisperState,
    context: WhisperContext,
    options: DecodeOptions,
    summary: ModelSummary,
    path: PathBuf,
}

impl Recognizer {
    /// Reads `path` whole into RAM, checks it, loads it into whisper.cpp and warms it up with a
    /// second of silence (the first run allocates compute buffers). `pull` names the model for the
    /// fix-it hint in errors.
    pub fn load(path: &Path, pull: &str, options: DecodeOptions) -> Result<Recognizer, EngineError> {
        route_logs();
        let started = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => EngineError::Missing { path: path.into(), pull: pull.into() },
            _ => EngineError::Read { path: path.into(), source },
        })?;
        let summary = model::check(&bytes)
            .map_err(|source| EngineError::Corrupt { path: path.into(), source, pull: pull.into() })?;
        let multilingual = summary.hparams.n_vocab >= 51865;
        let mut options = options;
        if !multilingual {
            match options.language.as_str() {
                "en" => {}
                "auto" => options.language = "en".into(),
                other => return Err(EngineError::Language { language: other.into(), path: path.into() }),
            }
        }
        let context = WhisperContext::new_from_buffer_with_params(&bytes, WhisperContextParameters::default())
            .map_err(|_| EngineError::Load { path: path.into(), pull: pull.into() })?;
        drop(bytes); // whisper.cpp copied the weights into its own buffers.
        let state = context.create_state()?;
        let mut recognizer = Recognizer { state, context, options, summary, path: path.into() };
        if !recognizer.summary.has_weights() {
            warn!(model = %path.display(), "model file has no weights (a whisper.cpp test file): transcripts will be empty");
        }
        // One token is enough to allocate the encoder's and decoder's compute buffers.
        let wanted = recognizer.options.clone();
        recognizer.options.max_tokens = 1;
        let warm = recognizer.transcribe(&vec![0.0; WHISPER_RATE_HZ as usize]);
        recognizer.options = wanted;
        let warm = warm?;
        info!(
            model = %path.display(),
            size = recognizer.summary.hparams.size_name(),
            multilingual,
            load_ms = started.elapsed().as_millis() as u64,
            warmup_ms = warm.processing_ms,
            "whisper model ready"
        );
        Ok(recognizer)
    }

    pub fn summary(&self) -> &ModelSummary {
        &self.summary
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    pub fn set_options(&mut self, options: DecodeOptions) {
        self.options = options;
    }

    /// The encoder context for `samples` of 16 kHz audio.
    pub fn audio_ctx_for(&self, samples: usize) -> u32 {
        audio_ctx_for(samples, &self.options, self.summary.hparams.n_audio_ctx as u32)
    }

    /// Transcribes 16 kHz mono audio (at least 100 ms; the service pads to a second). A scaled-context
    /// decode that ran away is decoded again with the full context.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Recognition, EngineError> {
        let started = Instant::now();
        let model_ctx = self.summary.hparams.n_audio_ctx as u32;
        let audio_ctx = self.audio_ctx_for(samples.len());
        let mut r = self.decode(samples, audio_ctx)?;
        let seconds = samples.len() as f64 / WHISPER_RATE_HZ as f64;
        if audio_ctx < model_ctx && runaway::looks_runaway(&r.text, seconds) {
            warn!(text = %r.text, audio_ctx, "scaled context ran away; decoding again with the full context");
            r = self.decode(samples, model_ctx)?;
            r.full_context_retry = true;
        }
        r.processing_ms = started.elapsed().as_millis() as u64;
        debug!(text = %r.text, r.tokens, r.audio_ctx, r.no_speech_prob, r.processing_ms, r.full_context_retry, "transcribed");
        Ok(r)
    }

    fn decode(&mut self, samples: &[f32], audio_ctx: u32) -> Result<Recognition, EngineError> {
        let o = &self.options;
        let strategy = if o.beam_size > 1 {
            SamplingStrategy::BeamSearch { beam_size: o.beam_size as i32, patience: -1.0 }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(o.threads as i32);
        params.set_language(Some(o.language.as_str()));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_no_timestamps(!o.timestamps);
        params.set_single_segment(!o.timestamps);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_temperature(0.0);
        if !o.temperature_fallback {
            params.set_temperature_inc(0.0);
        }
        if o.max_tokens > 0 {
            params.set_max_tokens(o.max_tokens as i32);
        }
        if audio_ctx < self.summary.hparams.n_audio_ctx as u32 {
            params.set_audio_ctx(audio_ctx as i32);
        }
        self.state.full(params, samples)?;
        let mut text = String::new();
        let mut tokens = 0;
        let mut no_speech_prob = 0.0f32;
        let mut segments = Vec::new();
        for segment in self.state.as_iter() {
            let piece = segment.to_str_lossy()?.into_owned();
            // whisper.cpp counts time in centiseconds.
            let ms = |cs: i64| cs.max(0) as u64 * 10;
            segments.push(Segment { start_ms: ms(segment.start_timestamp()), end_ms: ms(segment.end_timestamp()), text: piece.clone() });
            text.push_str(&piece);
            tokens += segment.n_tokens().max(0) as usize;
            no_speech_prob = no_speech_prob.max(segment.no_speech_probability());
        }
        Ok(Recognition { text, tokens, audio_ctx, no_speech_prob, processing_ms: 0, segments, full_context_retry: false })
    }

    /// Whether whisper.cpp's model is multilingual (`context` is kept for its lifetime anyway).
    pub fn is_multilingual(&self) -> bool {
        self.context.is_multilingual()
    }
}

/// Encoder frames for `samples` at 16 kHz: 50 per second plus a margin, at least the floor, at most
/// the model's context. The full context when scaling is off.
pub fn audio_ctx_for(samples: usize, o: &DecodeOptions, model_ctx: u32) -> u32 {
    if !o.scale_audio_ctx {
        return model_ctx;
    }
    let seconds = samples as f64 / WHISPER_RATE_HZ as f64;
    let frames = (seconds * AUDIO_CTX_PER_SECOND).ceil() as u32 + AUDIO_CTX_MARGIN;
    frames.max(o.audio_ctx_floor).min(model_ctx)
}

/// Sends whisper.cpp's and ggml's logging to tracing: errors and warnings as such, the chatty
/// load-time information at debug level.
pub fn route_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| unsafe {
        whisper_rs::whisper_rs_sys::whisper_log_set(Some(on_whisper_log), std::ptr::null_mut());
        whisper_rs::whisper_rs_sys::ggml_log_set(Some(on_whisper_log), std::ptr::null_mut());
    });
}

unsafe extern "C" fn on_whisper_log(level: whisper_rs::whisper_rs_sys::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string valid for the duration of the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let text = text.trim_end();
    if text.is_empty() {
        return;
    }
    match level {
        whisper_rs::whisper_rs_sys::ggml_log_level_GGML_LOG_LEVEL_ERROR => error!(target: "whisper", "{text}"),
        whisper_rs::whisper_rs_sys::ggml_log_level_GGML_LOG_LEVEL_WARN => warn!(target: "whisper", "{text}"),
        _ => debug!(target: "whisper", "{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_scales_with_length_between_floor_and_model() {
        let o = DecodeOptions::default();
        assert_eq!(audio_ctx_for(16_000, &o, 1500), 384); // 1 s → floor
        assert_eq!(audio_ctx_for(16_000 * 10, &o, 1500), 564); // 10 s → 500 + 64
        assert_eq!(audio_ctx_for(16_000 * 40, &o, 1500), 1500); // capped at the model's
        let off = DecodeOptions { scale_audio_ctx: false, ..o.clone() };
        assert_eq!(audio_ctx_for(16_000, &off, 1500), 1500);
        let low = DecodeOptions { audio_ctx_floor: 128, ..o };
        assert_eq!(audio_ctx_for(16_000 * 2, &low, 1500), 164);
    }
}
