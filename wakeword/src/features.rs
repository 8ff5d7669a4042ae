//! Features for training through the same openWakeWord front end Hearth's wake service runs
//! (`melspectrogram.onnx` → `x / 10 + 2` → `embedding_model.onnx`), over whole clips in batches rather
//! than 80 ms at a time: the mel model runs once over the clip and the embedding model over every
//! 76-frame window 8 frames apart, exactly the windows the streaming engine sees.
//!
//! Each clip's features are cached on disk under the hash of everything that made the clip, so an
//! interrupted run resumes where it stopped and a retrain with new recordings recomputes only those.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef};

use crate::WakewordError;
use hearth_wake::onnx::{self, OnnxError};

pub const MEL_BANDS: usize = 32;
pub const EMBEDDING_DIM: usize = 96;
/// Mel frames per embedding (775 ms).
pub const MEL_WINDOW: usize = 76;
/// Mel frames between embeddings (80 ms).
pub const MEL_STEP: usize = 8;
/// Samples between mel frames (10 ms).
pub const HOP_SAMPLES: usize = 160;
/// The mel model's analysis window, samples.
pub const FFT_SAMPLES: usize = 512;
/// Windows sent to the embedding model at once.
const BATCH: usize = 64;

/// The loaded front end.
pub struct FrontEnd {
    mel: Session,
    mel_input: String,
    embedding: Session,
    embedding_input: String,
}

impl FrontEnd {
    /// Loads `melspectrogram.onnx` and `embedding_model.onnx` from `model_dir`.
    pub fn load(model_dir: &Path, onnxruntime: &Path, threads: usize) -> Result<FrontEnd, WakewordError> {
        let mel_path = model_dir.join("melspectrogram.onnx");
        let emb_path = model_dir.join("embedding_model.onnx");
        for p in [&mel_path, &emb_path] {
            if !p.is_file() {
                return Err(WakewordError::file(
                    p,
                    format!("missing openWakeWord front end — run `{}`", hearth_wake::config::PULL_COMMAND),
                ));
            }
        }
        let mel = onnx::session(onnxruntime, &mel_path, threads)?;
        let (mel_input, _) = onnx::input_info(&mel, &mel_path, 0, TensorElementType::Float32)?;
        let embedding = onnx::session(onnxruntime, &emb_path, threads)?;
        let (embedding_input, _) = onnx::input_info(&embedding, &emb_path, 0, TensorElementType::Float32)?;
        Ok(FrontEnd { mel, mel_input, embedding, embedding_input })
    }

    /// Embeddings of a 16 kHz clip (full scale ±1), row-major [step][96]: step `k` covers mel frames
    /// `8k .. 8k + 76` and ends at sample [`step_end_sample`]`(k)`. Clips shorter than one window give none.
    pub fn features(&mut self, clip: &[f32]) -> Result<Vec<f32>, WakewordError> {
        if clip.len() < FFT_SAMPLES {
            return Ok(Vec::new());
        }
        let samples: Vec<f32> = clip.iter().map(|s| s * 32768.0).collect();
        let input = TensorRef::from_array_view(([1usize, samples.len()], &samples[..])).map_err(run("melspectrogram"))?;
        let outputs = self.mel.run(ort::inputs![self.mel_input.as_str() => input]).map_err(run("melspectrogram"))?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(run("melspectrogram"))?;
        let mel: Vec<f32> = data.iter().map(|x| x / 10.0 + 2.0).collect();
        drop(outputs);
        let frames = mel.len() / MEL_BANDS;
        if frames < MEL_WINDOW {
            return Ok(Vec::new());
        }
        let steps = (frames - MEL_WINDOW) / MEL_STEP + 1;
        let mut out = Vec::with_capacity(steps * EMBEDDING_DIM);
        let mut start = 0;
        while start < steps {
            let count = BATCH.min(steps - start);
            let mut batch = Vec::with_capacity(count * MEL_WINDOW * MEL_BANDS);
            for k in start..start + count {
                let f = k * MEL_STEP;
                batch.extend_from_slice(&mel[f * MEL_BANDS..(f + MEL_WINDOW) * MEL_BANDS]);
            }
            let input = TensorRef::from_array_view(([count, MEL_WINDOW, MEL_BANDS, 1], &batch[..])).map_err(run("embedding"))?;
            let outputs = self.embedding.run(ort::inputs![self.embedding_input.as_str() => input]).map_err(run("embedding"))?;
            let (_, data) = outputs[0].try_extract_tensor::<f32>().map_err(run("embedding"))?;
            if data.len() != count * EMBEDDING_DIM {
                return Err(OnnxError::Run { model: "embedding".into(), why: format!("{} values for {count} windows", data.len()) }.into());
            }
            out.extend_from_slice(data);
            start += count;
        }
        Ok(out)
    }
}

/// The sample at which step `k`'s audio ends (its last mel frame's analysis window ends there).
pub fn step_end_sample(k: usize) -> usize {
    (k * MEL_STEP + MEL_WINDOW - 1) * HOP_SAMPLES + FFT_SAMPLES
}

fn run(model: &'static str) -> impl Fn(ort::Error) -> WakewordError {
    move |e| OnnxError::Run { model: model.into(), why: e.to_string() }.into()
}

/// Features on disk, one file per clip: raw little-endian f32, [step][96].
pub struct FeatureCache {
    dir: PathBuf,
}

impl FeatureCache {
    pub fn new(dir: PathBuf) -> Result<FeatureCache, WakewordError> {
        std::fs::create_dir_all(&dir).map_err(|e| WakewordError::file(&dir, e))?;
        Ok(FeatureCache { dir })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2.min(key.len())]).join(format!("{key}.f32"))
    }

    pub fn get(&self, key: &str) -> Option<Vec<f32>> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        if bytes.len() % (4 * EMBEDDING_DIM) != 0 {
            return None;
        }
        Some(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    /// Stores through a temporary file and a rename, so an interrupted write never leaves a torn entry.
    pub fn put(&self, key: &str, features: &[f32]) -> Result<(), WakewordError> {
        let path = self.path(key);
        let parent = path.parent().expect("cache paths have a parent");
        std::fs::create_dir_all(parent).map_err(|e| WakewordError::file(parent, e))?;
        let tmp = path.with_extension("tmp");
        let bytes: Vec<u8> = features.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&tmp, bytes).map_err(|e| WakewordError::file(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| WakewordError::file(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trips_and_ignores_torn_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeatureCache::new(dir.path().join("f")).unwrap();
        let v: Vec<f32> = (0..192).map(|i| i as f32 * 0.5).collect();
        cache.put("abcdef", &v).unwrap();
        assert_eq!(cache.get("abcdef").unwrap(), v);
        assert!(cache.get("abzzzz").is_none());
        std::fs::write(dir.path().join("f/ab/abtorn.f32"), [0u8; 7]).unwrap();
        assert!(cache.get("abtorn").is_none());
    }

    #[test]
    fn step_timing() {
        // The first embedding needs 76 frames: 75 hops plus one analysis window.
        assert_eq!(step_end_sample(0), 75 * 160 + 512);
        assert_eq!(step_end_sample(1) - step_end_sample(0), 1280);
    }
}
