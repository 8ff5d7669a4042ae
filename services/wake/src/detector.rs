//! [`WakeDetector`]: openWakeWord's three-stage streaming pipeline, step for step as the reference
//! Python package (`openwakeword/utils.py` `AudioFeatures._streaming_features`, `model.py` `predict`):
//!
//! 1. every 80 ms (1280 samples) the mel model runs over the newest 1760 samples (the new chunk plus
//!    three 10 ms hops of context), giving 8 frames of 32 bands, rescaled as `x / 10 + 2`;
//! 2. the embedding model turns the newest 76 mel frames (775 ms) into one 96-d feature;
//! 3. each word classifier scores its newest `W` features (W read from the model).
//!
//! The buffers start as the reference's do (76 mel frames of ones; features of 4 s of low noise, made
//! here from a fixed generator instead of NumPy's random one, so runs repeat), and the first five
//! scores are forced to zero while the buffers fill, as the reference does.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef};
use tracing::warn;

use crate::onnx::{self, OnnxError};

/// Samples per pipeline step: 80 ms at 16 kHz.
pub const CHUNK_SAMPLES: usize = 1280;
/// Sample rate every model expects, Hertz.
pub const SAMPLE_RATE_HZ: u32 = 16_000;
/// Context the mel model gets before each chunk: three 160-sample hops, so 1760 samples give 8 frames.
const MEL_CONTEXT_SAMPLES: usize = 480;
const MEL_BANDS: usize = 32;
const EMBEDDING_DIM: usize = 96;
/// The embedding model's window (read from the model when it is fixed there).
const DEFAULT_MEL_WINDOW: usize = 76;
/// Scores forced to zero at the start, while the buffers still hold their initial contents.
const WARMUP_STEPS: u64 = 5;
/// Length of the noise the feature buffer starts from (the reference uses 4 s).
const INIT_NOISE_SAMPLES: usize = 4 * SAMPLE_RATE_HZ as usize;

/// One word to listen for.
#[derive(Debug, Clone, PartialEq)]
pub struct WordSpec {
    /// Name published in detections, e.g. `hey_jarvis`.
    pub name: String,
    /// The openWakeWord classifier (`.onnx`, input [1, W, 96]).
    pub model: PathBuf,
    /// Score (0 to 1) at or above which a step counts.
    pub threshold: f32,
    /// Consecutive 80 ms steps at or above the threshold before the word fires (1 = at once).
    pub patience: u32,
    /// After firing, the word stays silent this long, milliseconds (one utterance fires once).
    pub refractory_ms: u32,
}

/// The three model files of the front end and where ONNX Runtime lives.
#[derive(Debug, Clone)]
pub struct DetectorSpec {
    /// `melspectrogram.onnx`.
    pub melspectrogram: PathBuf,
    /// `embedding_model.onnx`.
    pub embedding: PathBuf,
    pub words: Vec<WordSpec>,
    /// The ONNX Runtime shared library.
    pub onnxruntime: PathBuf,
    /// Intra-op threads per model (1 is best on a Pi).
    pub threads: usize,
}

impl DetectorSpec {
    /// The front end from an openWakeWord model directory (`melspectrogram.onnx`, `embedding_model.onnx`).
    pub fn in_dir(dir: &Path, words: Vec<WordSpec>, onnxruntime: PathBuf) -> Self {
        Self {
            melspectrogram: dir.join("melspectrogram.onnx"),
            embedding: dir.join("embedding_model.onnx"),
            words,
            onnxruntime,
            threads: 1,
        }
    }
}

/// A word fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub word: String,
    /// The score of the step that fired, 0 to 1.
    pub score: f32,
    /// Samples fed since start (or the last reset) up to the end of the step that fired.
    pub end_sample: u64,
}

struct Word {
    spec: WordSpec,
    session: Session,
    input: String,
    /// Features the classifier takes (W).
    window: usize,
    trigger: Trigger,
}

/// Threshold, patience and refractory period of one word, counted in 80 ms steps.
#[derive(Debug, Clone, PartialEq)]
struct Trigger {
    threshold: f32,
    patience: u32,
    refractory_steps: u32,
    /// Consecutive steps at or above threshold.
    above: u32,
    /// Steps left before the word may fire again.
    refractory_left: u32,
}

impl Trigger {
    fn new(spec: &WordSpec) -> Self {
        Trigger {
            threshold: spec.threshold,
            patience: spec.patience.max(1),
            refractory_steps: spec.refractory_ms.div_ceil(80),
            above: 0,
            refractory_left: 0,
        }
    }

    /// Whether this step's score fires the word.
    fn update(&mut self, score: f32) -> bool {
        if self.refractory_left > 0 {
            self.refractory_left -= 1;
            self.above = 0;
            return false;
        }
        if score >= self.threshold {
            self.above += 1;
        } else {
            self.above = 0;
        }
        if self.above < self.patience {
            return false;
        }
        self.above = 0;
        self.refractory_left = self.refractory_steps;
        true
    }
}

/// The streaming wake word engine. Feed any number of 16 kHz mono samples at a time.
pub struct WakeDetector {
    mel: Session,
    mel_input: String,
    embedding: Session,
    embedding_input: String,
    mel_window: usize,
    words: Vec<Word>,
    /// Newest samples (at most one chunk plus context), as f32 in s16 units.
    raw: Vec<f32>,
    /// Samples not yet making up a whole chunk.
    pending: Vec<i16>,
    /// Newest `mel_window` mel frames, row-major [frame][band].
    mel_frames: Vec<f32>,
    /// Newest features, row-major [step][96]; at least the longest word window.
    features: Vec<f32>,
    keep_features: usize,
    initial_features: Vec<f32>,
    steps: u64,
    samples_fed: u64,
    inference_errors: u64,
}

impl WakeDetector {
    /// Loads the front end and every word. Fails on a missing file or a model whose interface is not
    /// openWakeWord's.
    pub fn new(spec: &DetectorSpec) -> Result<Self, OnnxError> {
        let lib = &spec.onnxruntime;
        let mel = onnx::session(lib, &spec.melspectrogram, spec.threads)?;
        let (mel_input, _) = onnx::input_info(&mel, &spec.melspectrogram, 0, TensorElementType::Float32)?;
        let embedding = onnx::session(lib, &spec.embedding, spec.threads)?;
        let (embedding_input, shape) = onnx::input_info(&embedding, &spec.embedding, 0, TensorElementType::Float32)?;
        if shape.len() != 4 || (shape[2] > 0 && shape[2] as usize != MEL_BANDS) {
            return Err(OnnxError::Interface {
                path: spec.embedding.clone(),
                why: format!("input shape {shape:?}, expected [B, 76, 32, 1]"),
            });
        }
        let mel_window = if shape[1] > 0 { shape[1] as usize } else { DEFAULT_MEL_WINDOW };
        if spec.words.is_empty() {
            return Err(OnnxError::Interface { path: PathBuf::new(), why: "no wake words to load".into() });
        }
        let mut words = Vec::with_capacity(spec.words.len());
        for w in &spec.words {
            words.push(load_word(w, lib, spec.threads)?);
        }
        let keep_features = words.iter().map(|w| w.window).max().unwrap_or(16);
        let mut detector = WakeDetector {
            mel,
            mel_input,
            embedding,
            embedding_input,
            mel_window,
            words,
            raw: Vec::with_capacity(CHUNK_SAMPLES + MEL_CONTEXT_SAMPLES),
            pending: Vec::with_capacity(CHUNK_SAMPLES * 2),
            mel_frames: Vec::new(),
            features: Vec::new(),
            keep_features,
            initial_features: Vec::new(),
            steps: 0,
            samples_fed: 0,
            inference_errors: 0,
        };
        detector.initial_features = detector.initial_features()?;
        detector.reset();
        Ok(detector)
    }

    /// Names of the loaded words, in load order (the order of scores in [`Self::process_with`]).
    pub fn words(&self) -> Vec<String> {
        self.words.iter().map(|w| w.spec.name.clone()).collect()
    }

    /// Classifier window (W) of each word, in load order.
    pub fn windows(&self) -> Vec<usize> {
        self.words.iter().map(|w| w.window).collect()
    }

    /// Inference calls that failed since start (their steps scored zero).
    pub fn inference_errors(&self) -> u64 {
        self.inference_errors
    }

    /// Forgets all audio: the next sample starts a new stream.
    pub fn reset(&mut self) {
        self.raw.clear();
        self.pending.clear();
        self.mel_frames = vec![1.0; self.mel_window * MEL_BANDS];
        let rows = self.initial_features.len() / EMBEDDING_DIM;
        let skip = rows.saturating_sub(self.keep_features) * EMBEDDING_DIM;
        self.features = self.initial_features[skip..].to_vec();
        self.steps = 0;
        self.samples_fed = 0;
        for w in &mut self.words {
            w.trigger = Trigger::new(&w.spec);
        }
    }

    /// Feeds samples and returns the words that fired.
    pub fn process(&mut self, samples: &[i16]) -> Vec<Detection> {
        self.process_with(samples, |_, _| {})
    }

    /// Like [`Self::process`], and calls `on_step(step, scores)` after every 80 ms step with one score
    /// per word (load order). Steps count from 1 since start or reset.
    pub fn process_with(&mut self, samples: &[i16], mut on_step: impl FnMut(u64, &[f32])) -> Vec<Detection> {
        let mut detections = Vec::new();
        let mut scores = vec![0.0f32; self.words.len()];
        self.pending.extend_from_slice(samples);
        let mut used = 0;
        while self.pending.len() - used >= CHUNK_SAMPLES {
            let chunk: Vec<i16> = self.pending[used..used + CHUNK_SAMPLES].to_vec();
            used += CHUNK_SAMPLES;
            self.step(&chunk, &mut scores, &mut detections);
            on_step(self.steps, &scores);
        }
        self.pending.drain(..used);
        detections
    }

    fn step(&mut self, chunk: &[i16], scores: &mut [f32], detections: &mut Vec<Detection>) {
        self.samples_fed += chunk.len() as u64;
        self.raw.extend(chunk.iter().map(|&s| s as f32));
        let excess = self.raw.len().saturating_sub(CHUNK_SAMPLES + MEL_CONTEXT_SAMPLES);
        self.raw.drain(..excess);

        match self.run_mel() {
            Ok(frames) => {
                self.mel_frames.extend_from_slice(&frames);
                let excess = self.mel_frames.len().saturating_sub(self.mel_window * MEL_BANDS);
                self.mel_frames.drain(..excess);
            }
            Err(e) => self.note_error(&e),
        }
        match self.run_embedding() {
            Ok(feature) => {
                self.features.extend_from_slice(&feature);
                let excess = self.features.len().saturating_sub(self.keep_features * EMBEDDING_DIM);
                self.features.drain(..excess);
            }
            Err(e) => self.note_error(&e),
        }
        self.steps += 1;
        for i in 0..self.words.len() {
            let score = match self.run_word(i) {
                Ok(s) => s,
                Err(e) => {
                    self.note_error(&e);
                    0.0
                }
            };
            // The reference zeroes the first five predictions while its buffers fill.
            scores[i] = if self.steps <= WARMUP_STEPS { 0.0 } else { score };
            let word = &mut self.words[i];
            if word.trigger.update(scores[i]) {
                detections.push(Detection { word: word.spec.name.clone(), score: scores[i], end_sample: self.samples_fed });
            }
        }
    }

    /// Mel frames of the newest raw samples, rescaled as the reference does.
    fn run_mel(&mut self) -> Result<Vec<f32>, OnnxError> {
        mel_frames(&mut self.mel, &self.mel_input, &self.raw)
    }

    fn run_embedding(&mut self) -> Result<Vec<f32>, OnnxError> {
        let input = TensorRef::from_array_view(([1usize, self.mel_window, MEL_BANDS, 1], &self.mel_frames[..]))
            .map_err(|e| run_error("embedding", e))?;
        let outputs = self.embedding.run(ort::inputs![self.embedding_input.as_str() => input])
            .map_err(|e| run_error("embedding", e))?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(|e| run_error("embedding", e))?;
        if data.len() != EMBEDDING_DIM {
            return Err(OnnxError::Run { model: "embedding".into(), why: format!("{} values, expected 96", data.len()) });
        }
        Ok(data.to_vec())
    }

    fn run_word(&mut self, i: usize) -> Result<f32, OnnxError> {
        let word = &mut self.words[i];
        let start = self.features.len() - word.window * EMBEDDING_DIM;
        let input = TensorRef::from_array_view(([1usize, word.window, EMBEDDING_DIM], &self.features[start..]))
            .map_err(|e| run_error(&word.spec.name, e))?;
        let outputs = word.session.run(ort::inputs![word.input.as_str() => input])
            .map_err(|e| run_error(&word.spec.name, e))?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(|e| run_error(&word.spec.name, e))?;
        Ok(class_score(data))
    }

    /// Features of 4 s of low deterministic noise, as the reference fills its buffer before the first
    /// audio arrives (it uses NumPy random integers in [-1000, 1000)).
    fn initial_features(&mut self) -> Result<Vec<f32>, OnnxError> {
        let noise: Vec<f32> = init_noise(INIT_NOISE_SAMPLES).into_iter().map(|s| s as f32).collect();
        let mel = mel_frames(&mut self.mel, &self.mel_input, &noise)?;
        let frames = mel.len() / MEL_BANDS;
        let mut batch = Vec::new();
        let mut count = 0;
        let mut start = 0;
        while start + self.mel_window <= frames {
            batch.extend_from_slice(&mel[start * MEL_BANDS..(start + self.mel_window) * MEL_BANDS]);
            count += 1;
            start += 8;
        }
        let input = TensorRef::from_array_view(([count, self.mel_window, MEL_BANDS, 1], &batch[..]))
            .map_err(|e| run_error("embedding", e))?;
        let outputs = self.embedding.run(ort::inputs![self.embedding_input.as_str() => input])
            .map_err(|e| run_error("embedding", e))?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(|e| run_error("embedding", e))?;
        Ok(data.to_vec())
    }

    fn note_error(&mut self, error: &OnnxError) {
        self.inference_errors += 1;
        // Log the first failure and then every 500th, not every 80 ms.
        if self.inference_errors % 500 == 1 {
            warn!(%error, count = self.inference_errors, "wake word inference failed; scoring zero");
        }
    }
}

fn load_word(spec: &WordSpec, lib: &Path, threads: usize) -> Result<Word, OnnxError> {
    let session = onnx::session(lib, &spec.model, threads)?;
    let (input, shape) = onnx::input_info(&session, &spec.model, 0, TensorElementType::Float32)?;
    let bad = |why: String| OnnxError::Interface { path: spec.model.clone(), why };
    if shape.len() != 3 || shape[1] <= 0 || (shape[2] > 0 && shape[2] as usize != EMBEDDING_DIM) {
        return Err(bad(format!("input {input:?} has shape {shape:?}, expected [1, W, 96] with a fixed W")));
    }
    if !(0.0..=1.0).contains(&spec.threshold) {
        return Err(bad(format!("threshold {} is outside 0..1", spec.threshold)));
    }
    Ok(Word { spec: spec.clone(), session, input, window: shape[1] as usize, trigger: Trigger::new(spec) })
}

/// Mel frames of `samples` (f32 in s16 units), each value rescaled as `x / 10 + 2`.
fn mel_frames(session: &mut Session, input_name: &str, samples: &[f32]) -> Result<Vec<f32>, OnnxError> {
    let input = TensorRef::from_array_view(([1usize, samples.len()], samples)).map_err(|e| run_error("melspectrogram", e))?;
    let outputs = session.run(ort::inputs![input_name => input]).map_err(|e| run_error("melspectrogram", e))?;
    let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(|e| run_error("melspectrogram", e))?;
    if data.len() % MEL_BANDS != 0 {
        return Err(OnnxError::Run { model: "melspectrogram".into(), why: format!("{} values, not a multiple of 32", data.len()) });
    }
    Ok(data.iter().map(|x| x / 10.0 + 2.0).collect())
}

/// One score from a classifier output: the only value, or for multi-class openWakeWord models (such
/// as `timer`, [1, 7]) the best class other than class 0, which is the "none" class there.
fn class_score(data: &[f32]) -> f32 {
    match data {
        [] => 0.0,
        [one] => *one,
        [_, rest @ ..] => rest.iter().copied().fold(0.0, f32::max),
    }
}

fn run_error(model: &str, e: impl std::fmt::Display) -> OnnxError {
    OnnxError::Run { model: model.to_string(), why: e.to_string() }
}

/// The fixed noise the feature buffer starts from: `n` samples in [-1000, 1000] from a 64-bit LCG
/// (Knuth's MMIX constants), seed 0. `fixtures/wake/oww_reference.py` builds the same sequence.
pub fn init_noise(n: usize) -> Vec<i16> {
    let mut state: u64 = 0;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % 2001) as i16 - 1000
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_scores() {
        assert_eq!(class_score(&[0.7]), 0.7);
        assert_eq!(class_score(&[0.9, 0.1, 0.3]), 0.3);
        assert_eq!(class_score(&[]), 0.0);
    }

    #[test]
    fn noise_is_fixed_and_bounded() {
        let a = init_noise(5000);
        assert_eq!(a, init_noise(5000));
        assert!(a.iter().all(|s| (-1000..=1000).contains(s)));
        assert!(a.iter().any(|&s| s > 900) && a.iter().any(|&s| s < -900));
    }

    #[test]
    fn patience_and_refractory() {
        let spec = WordSpec { name: "w".into(), model: PathBuf::new(), threshold: 0.5, patience: 2, refractory_ms: 240 };
        let mut t = Trigger::new(&spec);
        assert!(!t.update(0.9)); // 1 of 2
        assert!(t.update(0.9)); // 2 of 2: fires
        assert!(!t.update(0.9) && !t.update(0.9) && !t.update(0.9)); // 240 ms refractory = 3 steps
        assert!(!t.update(0.9)); // patience counts again from here
        assert!(t.update(0.9));
        assert!(!t.update(0.1));
        // A dip below the threshold restarts the count.
        let mut t = Trigger::new(&WordSpec { patience: 3, ..spec.clone() });
        assert!(!t.update(0.9) && !t.update(0.9) && !t.update(0.2) && !t.update(0.9) && !t.update(0.9));
        assert!(t.update(0.5));
        // Patience 0 behaves as 1.
        let mut t = Trigger::new(&WordSpec { patience: 0, refractory_ms: 0, ..spec });
        assert!(t.update(0.5) && t.update(0.5) && !t.update(0.49));
    }
}
