//! A Piper voice: its ONNX model run through ONNX Runtime (`ort`, loaded at run time).
//!
//! Interface: `input` i64 [1, N] phoneme ids, `input_lengths` i64 [1], `scales` f32 [3] (noise_scale,
//! length_scale, noise_w), `sid` i64 [1] on multi-speaker voices; output f32 [1, 1, 1, T] or [1, 1, T].

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

use crate::espeak::Espeak;
use crate::phonemes::VoiceConfig;
use crate::TtsError;

/// The shipped default voice.
pub const DEFAULT_VOICE: &str = "en_US-lessac-medium";

/// Where libonnxruntime is: the configured path, else `ORT_DYLIB_PATH`, else `<data_dir>/lib/libonnxruntime.so`.
pub fn onnxruntime_path(configured: Option<&Path>, data_dir: &Path) -> PathBuf {
    configured
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from))
        .unwrap_or_else(|| data_dir.join("lib/libonnxruntime.so"))
}

/// The process's ONNX Runtime environment, loaded from `library` on first use. ONNX Runtime allows one
/// per process, so this is the same one the wake word and voice activity engines use
/// (`hearth_wake::onnx`): a process that runs several engines (a test, a benchmark) shares it.
pub fn environment(library: &Path) -> Result<Environment, TtsError> {
    hearth_wake::onnx::environment(library).map_err(|e| TtsError::Runtime(e.to_string()))
}

/// Per-request synthesis settings; `None` takes the voice config's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scales {
    pub noise_scale: Option<f32>,
    pub length_scale: Option<f32>,
    pub noise_w: Option<f32>,
}

/// A loaded Piper voice.
pub struct PiperVoice {
    /// File stem, e.g. `en_US-lessac-medium`.
    pub name: String,
    pub config: VoiceConfig,
    session: Session,
    speaker_id: Option<i64>,
    scales: [f32; 3],
}

impl PiperVoice {
    /// Loads `<model>.onnx` and `<model>.onnx.json`. `speaker` is a name from `speaker_id_map` or a number.
    pub fn load(
        model: &Path,
        speaker: Option<&str>,
        scales: &Scales,
        env: &Environment,
        intra_threads: usize,
    ) -> Result<PiperVoice, TtsError> {
        let json = PathBuf::from(format!("{}.json", model.display()));
        let config = VoiceConfig::from_file(&json)?;
        let name = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let bad = |why: String| TtsError::Voice(format!("voice {}: {why}", model.display()));
        let mut builder = Session::builder(env).map_err(|e| bad(e.to_string()))?;
        if intra_threads > 0 {
            builder = builder.with_intra_threads(intra_threads).map_err(|e| bad(e.to_string()))?;
        }
        let session = builder.commit_from_file(model).map_err(|e| bad(format!("not a loadable ONNX model: {e}")))?;
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in ["input", "input_lengths", "scales"] {
            if !inputs.contains(&needed) {
                return Err(bad(format!("model has no `{needed}` input (inputs: {inputs:?}); not a Piper voice")));
            }
        }
        let speaker_id = if config.num_speakers > 1 {
            if !inputs.contains(&"sid") {
                return Err(bad("config says multi-speaker but the model has no `sid` input".into()));
            }
            Some(match speaker {
                Some(s) => config.speaker_id(s).map_err(bad)?,
                None => config.default_speaker_id,
            })
        } else {
            None
        };
        let scales = [
            scales.noise_scale.unwrap_or(config.noise_scale),
            scales.length_scale.unwrap_or(config.length_scale),
            scales.noise_w.unwrap_or(config.noise_w),
        ];
        Ok(PiperVoice { name, config, session, speaker_id, scales })
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.config.sample_rate_hz
    }

    /// Text to phoneme ids, one list per sentence.
    pub fn text_to_ids(&self, espeak: &Espeak, text: &str) -> Result<Vec<Vec<i64>>, TtsError> {
        self.config.text_to_ids(espeak, text)
    }

    /// One sentence of phoneme ids to audio, peak-normalized and converted to s16 as piper-tts does.
    pub fn ids_to_audio(&mut self, ids: &[i64]) -> Result<Vec<i16>, TtsError> {
        let n = ids.len();
        let input = Tensor::from_array(Array2::from_shape_vec((1, n), ids.to_vec()).expect("shape matches"))
            .map_err(|e| TtsError::Inference(e.to_string()))?;
        let lengths = Tensor::from_array(Array1::from_vec(vec![n as i64])).map_err(|e| TtsError::Inference(e.to_string()))?;
        let scales = Tensor::from_array(Array1::from_vec(self.scales.to_vec())).map_err(|e| TtsError::Inference(e.to_string()))?;
        let outputs = match self.speaker_id {
            Some(sid) => {
                let sid = Tensor::from_array(Array1::from_vec(vec![sid])).map_err(|e| TtsError::Inference(e.to_string()))?;
                self.session
                    .run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales, "sid" => sid])
            }
            None => self.session.run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales]),
        };
        let name = self.name.clone();
        let outputs = outputs.map_err(|e| TtsError::Inference(format!("voice {name}: {e}")))?;
        let (shape, audio) = outputs[0].try_extract_tensor::<f32>().map_err(|e| TtsError::Inference(format!("voice {name}: {e}")))?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        let leading_ones = dims.len() >= 2 && dims[..dims.len() - 1].iter().all(|&d| d == 1);
        if !leading_ones {
            return Err(TtsError::Inference(format!("voice {name}: unexpected output shape {dims:?}")));
        }
        Ok(to_s16_normalized(audio))
    }
}

/// piper-tts's default output: scale to a peak of 1.0 (silence stays silence), then s16.
pub fn to_s16_normalized(audio: &[f32]) -> Vec<i16> {
    let peak = audio.iter().filter(|v| v.is_finite()).fold(0.0f32, |m, v| m.max(v.abs()));
    if peak < 1e-8 {
        return vec![0; audio.len()];
    }
    audio
        .iter()
        .map(|&v| {
            let v = if v.is_finite() { v / peak } else { 0.0 };
            (v.clamp(-1.0, 1.0) * 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_matches_piper() {
        assert_eq!(to_s16_normalized(&[0.0, 0.25, -0.5]), vec![0, 16383, -32767]);
        assert_eq!(to_s16_normalized(&[0.0; 3]), vec![0; 3]);
        assert_eq!(to_s16_normalized(&[f32::NAN, 0.5]), vec![0, 32767]);
    }
}
