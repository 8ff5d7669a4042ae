//! [`Endpointer`]: decides when one utterance is over, from Silero VAD's speech probability every 32 ms.
//!
//! Speech starts after `min_speech_ms` of consecutive speech chunks (a click or a door does not count).
//! Once started, a chunk stays "speech" down to `threshold - 0.15` (Silero's own hysteresis), and the
//! utterance ends after `end_silence_ms` of non-speech. Before speech starts, `no_speech_timeout_ms`
//! gives up. Whatever happens, `max_length_ms` closes the capture: a vacuum cleaner or a television
//! can never hold the microphone open.

use std::path::Path;

use hearth_bus::listen::EndReason;
use hearth_wake::onnx::OnnxError;
use tracing::warn;

use crate::vad::{SileroVad, CHUNK_SAMPLES};

const SAMPLES_PER_MS: u64 = 16;
/// How far below the start threshold speech may fall and still count as speech once started.
const HYSTERESIS: f32 = 0.15;

/// The endpointer's settings (also the `[listen]` table's timing keys).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointerSettings {
    /// Speech probability (0 to 1) at which a chunk counts as speech.
    pub threshold: f32,
    /// Non-speech after speech that ends the utterance, milliseconds.
    pub end_silence_ms: u64,
    /// Consecutive speech needed before speech counts as started, milliseconds.
    pub min_speech_ms: u64,
    /// Give up when speech has not started within this long, milliseconds.
    pub no_speech_timeout_ms: u64,
    /// Hard cap on the capture, milliseconds.
    pub max_length_ms: u64,
    /// Audio kept before the start of speech in the utterance, milliseconds.
    pub preroll_ms: u64,
}

impl Default for EndpointerSettings {
    fn default() -> Self {
        EndpointerSettings {
            threshold: 0.6,
            end_silence_ms: 800,
            min_speech_ms: 200,
            no_speech_timeout_ms: 5_000,
            max_length_ms: 12_000,
            preroll_ms: 300,
        }
    }
}

/// How a capture ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub reason: EndReason,
    /// Speech in the capture, milliseconds.
    pub speech_ms: u64,
    /// Length of the capture, milliseconds.
    pub duration_ms: u64,
    /// The utterance (16 kHz mono) for `Silence` and `MaxLength`; `None` otherwise.
    pub utterance: Option<Vec<i16>>,
}

/// One capture at a time; [`Endpointer::start`] begins the next.
pub struct Endpointer {
    vad: SileroVad,
    settings: EndpointerSettings,
    no_speech_timeout_ms: u64,
    active: bool,
    /// Everything captured so far.
    audio: Vec<i16>,
    /// Samples already given to the VAD.
    analysed: usize,
    /// First sample of speech, once started.
    speech_start: Option<usize>,
    speech_run: u64,
    silence_run: u64,
    speech_chunks: u64,
    vad_errors: u64,
}

impl Endpointer {
    pub fn new(vad: SileroVad, settings: EndpointerSettings) -> Self {
        Endpointer {
            vad,
            settings,
            no_speech_timeout_ms: settings.no_speech_timeout_ms,
            active: false,
            audio: Vec::new(),
            analysed: 0,
            speech_start: None,
            speech_run: 0,
            silence_run: 0,
            speech_chunks: 0,
            vad_errors: 0,
        }
    }

    /// Loads Silero VAD from `model`.
    pub fn load(model: &Path, onnxruntime: &Path, settings: EndpointerSettings) -> Result<Self, OnnxError> {
        Ok(Self::new(SileroVad::new(model, onnxruntime)?, settings))
    }

    pub fn settings(&self) -> &EndpointerSettings {
        &self.settings
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Begins a new capture (dropping any current one), optionally with its own no-speech timeout.
    pub fn start(&mut self, no_speech_timeout_ms: Option<u64>) {
        self.vad.reset();
        self.no_speech_timeout_ms = no_speech_timeout_ms.unwrap_or(self.settings.no_speech_timeout_ms);
        self.active = true;
        self.audio.clear();
        self.analysed = 0;
        self.speech_start = None;
        self.speech_run = 0;
        self.silence_run = 0;
        self.speech_chunks = 0;
    }

    /// Ends the capture without an utterance.
    pub fn cancel(&mut self) -> Ending {
        self.finish(EndReason::Cancelled)
    }

    /// Adds samples; returns the ending once the capture is over (later samples are ignored until the
    /// next [`Self::start`]).
    pub fn push(&mut self, samples: &[i16]) -> Option<Ending> {
        if !self.active {
            return None;
        }
        self.audio.extend_from_slice(samples);
        while self.audio.len() - self.analysed >= CHUNK_SAMPLES {
            let start = self.analysed;
            self.analysed += CHUNK_SAMPLES;
            let probability = match self.vad.process_chunk(&self.audio[start..start + CHUNK_SAMPLES]) {
                Ok(p) => p,
                Err(error) => {
                    self.vad_errors += 1;
                    if self.vad_errors % 500 == 1 {
                        warn!(%error, count = self.vad_errors, "VAD failed; treating the chunk as silence");
                    }
                    0.0
                }
            };
            if let Some(reason) = self.on_chunk(start, probability) {
                return Some(self.finish(reason));
            }
        }
        None
    }

    /// Updates the speech state with one chunk's probability; returns a reason when the capture ends.
    fn on_chunk(&mut self, chunk_start: usize, probability: f32) -> Option<EndReason> {
        let chunk_ms = CHUNK_SAMPLES as u64 / SAMPLES_PER_MS;
        let elapsed_ms = self.analysed as u64 / SAMPLES_PER_MS;
        if self.speech_start.is_none() {
            if probability >= self.settings.threshold {
                self.speech_run += 1;
                if self.speech_run * chunk_ms >= self.settings.min_speech_ms.max(1) {
                    let first = chunk_start + CHUNK_SAMPLES - self.speech_run as usize * CHUNK_SAMPLES;
                    self.speech_start = Some(first);
                    self.speech_chunks = self.speech_run;
                }
            } else {
                self.speech_run = 0;
            }
        } else if probability >= self.settings.threshold - HYSTERESIS {
            self.speech_chunks += 1;
            self.silence_run = 0;
        } else {
            self.silence_run += 1;
            if self.silence_run * chunk_ms >= self.settings.end_silence_ms {
                return Some(EndReason::Silence);
            }
        }
        if elapsed_ms >= self.settings.max_length_ms {
            return Some(EndReason::MaxLength);
        }
        if self.speech_start.is_none() && elapsed_ms >= self.no_speech_timeout_ms {
            return Some(EndReason::NoSpeech);
        }
        None
    }

    fn finish(&mut self, reason: EndReason) -> Ending {
        self.active = false;
        let chunk_ms = CHUNK_SAMPLES as u64 / SAMPLES_PER_MS;
        // The cap without any speech is still "nothing was said".
        let reason = match (reason, self.speech_start) {
            (EndReason::MaxLength, None) => EndReason::NoSpeech,
            (r, _) => r,
        };
        let utterance = match (reason, self.speech_start) {
            (EndReason::Silence | EndReason::MaxLength, Some(start)) => {
                let from = start.saturating_sub((self.settings.preroll_ms * SAMPLES_PER_MS) as usize);
                Some(self.audio[from..self.analysed].to_vec())
            }
            _ => None,
        };
        let speech_ms = if self.speech_start.is_some() { self.speech_chunks * chunk_ms } else { 0 };
        Ending { reason, speech_ms, duration_ms: self.audio.len() as u64 / SAMPLES_PER_MS, utterance }
    }
}
