//! Silero VAD v5/v6 on ONNX Runtime: 512 new samples (32 ms at 16 kHz) after 64 samples of context
//! from the previous chunk, a recurrent state fed back each call, one speech probability out.

use std::path::Path;

use hearth_wake::onnx::{self, OnnxError};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef};

/// New samples per call, 32 ms at 16 kHz.
pub const CHUNK_SAMPLES: usize = 512;
/// Samples of the previous chunk that precede the new ones.
const CONTEXT_SAMPLES: usize = 64;
/// Size of the recurrent state, [2, 1, 128].
const STATE_LEN: usize = 2 * 128;
/// The `sr` input: the model also knows 8 kHz, Hearth always streams 16 kHz.
static SAMPLE_RATE_HZ: [i64; 1] = [16_000];

pub struct SileroVad {
    session: Session,
    /// Context followed by the new chunk, as the model takes it.
    input: Vec<f32>,
    state: Vec<f32>,
    name: String,
}

impl SileroVad {
    /// Loads `model` and checks it has Silero v5/v6's inputs (`input`, `state`, `sr`).
    pub fn new(model: &Path, onnxruntime: &Path) -> Result<Self, OnnxError> {
        let session = onnx::session(onnxruntime, model, 1)?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        if names != ["input", "state", "sr"] {
            return Err(OnnxError::Interface {
                path: model.to_path_buf(),
                why: format!("inputs {names:?}, expected [\"input\", \"state\", \"sr\"] (Silero VAD v5 or later)"),
            });
        }
        let (_, shape) = onnx::input_info(&session, model, 1, TensorElementType::Float32)?;
        if shape.len() != 3 || shape[2] != 128 {
            return Err(OnnxError::Interface { path: model.to_path_buf(), why: format!("state shape {shape:?}, expected [2, 1, 128]") });
        }
        Ok(SileroVad {
            session,
            input: vec![0.0; CONTEXT_SAMPLES + CHUNK_SAMPLES],
            state: vec![0.0; STATE_LEN],
            name: model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        })
    }

    /// Starts a new stream: zero state and context.
    pub fn reset(&mut self) {
        self.input.fill(0.0);
        self.state.fill(0.0);
    }

    /// Speech probability (0 to 1) of the next 512 samples of the stream.
    pub fn process_chunk(&mut self, chunk: &[i16]) -> Result<f32, OnnxError> {
        assert_eq!(chunk.len(), CHUNK_SAMPLES, "Silero VAD takes 512-sample chunks");
        // The last 64 samples of the previous input become this call's context.
        self.input.copy_within(CHUNK_SAMPLES.., 0);
        for (dst, &s) in self.input[CONTEXT_SAMPLES..].iter_mut().zip(chunk) {
            *dst = s as f32 / 32768.0;
        }
        let fail = |e: ort::Error| OnnxError::Run { model: self.name.clone(), why: e.to_string() };
        let input = TensorRef::from_array_view(([1usize, CONTEXT_SAMPLES + CHUNK_SAMPLES], &self.input[..])).map_err(fail)?;
        let state = TensorRef::from_array_view(([2usize, 1, 128], &self.state[..])).map_err(fail)?;
        let sr = TensorRef::from_array_view(((), &SAMPLE_RATE_HZ[..])).map_err(fail)?;
        let outputs = self
            .session
            .run(ort::inputs!["input" => input, "state" => state, "sr" => sr])
            .map_err(|e| OnnxError::Run { model: self.name.clone(), why: e.to_string() })?;
        let (_, p) = outputs[0].try_extract_tensor::<f32>().map_err(|e| OnnxError::Run { model: self.name.clone(), why: e.to_string() })?;
        let probability = p.first().copied().unwrap_or(0.0);
        let (_, next) = outputs[1].try_extract_tensor::<f32>().map_err(|e| OnnxError::Run { model: self.name.clone(), why: e.to_string() })?;
        if next.len() == STATE_LEN {
            self.state.copy_from_slice(next);
        }
        Ok(probability)
    }
}
