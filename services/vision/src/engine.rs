//! The engine: a SmolVLM-style model through llama.cpp's multimodal library (`mtmd`). One picture and a question
//! in; the answer out sentence by sentence, each as soon as it is complete.
//!
//! Image splitting: llama.cpp's idefics3 preprocessing resizes a picture to the projector's longest edge (2048 px
//! for SmolVLM-256M) and encodes every 512 px tile plus an overview, about 13 tiles for a 4:3 frame. With splitting
//! off the engine caps the image at one tile's worth of tokens, so the picture is encoded as one tile plus the
//! overview; that is what makes a frame affordable on a Raspberry Pi.
//!
//! Plain synchronous code with no MQTT: the service runs it on its own thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hearth_llm::speech::SpeechStream;
use image::RgbImage;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::gguf::GgufContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::mtmd::{mtmd_default_marker, MtmdBitmap, MtmdContext, MtmdContextParams, MtmdInputChunkType, MtmdInputChunks, MtmdInputText};
use llama_cpp_2::sampling::LlamaSampler;
use serde::Serialize;
use tracing::info;

use crate::config::{VisionConfig, DEFAULT_QUESTION};
use crate::VisionError;

/// llama.cpp's process-wide backend, shared with `hearth-llm`'s code (llama.cpp refuses a second init).
fn backend() -> Result<&'static LlamaBackend, VisionError> {
    hearth_llm::engine::backend().map_err(|e| VisionError::Llama(e.to_string()))
}

/// The language model and where its projector is; the projector itself is loaded by [`Engine::new`].
pub struct VisionModel {
    model: LlamaModel,
    mmproj: PathBuf,
    /// Tokens of one image tile: (image size / patch size / pixel-shuffle factor)², from the projector's header.
    tile_tokens: i32,
    /// How long loading the language model took, milliseconds.
    pub load_ms: u64,
}

impl VisionModel {
    /// Reads the language model fully into RAM (no memory mapping) and the projector's header.
    pub fn load(model: &Path, mmproj: &Path) -> Result<VisionModel, VisionError> {
        for path in [model, mmproj] {
            if !path.is_file() {
                return Err(VisionError::MissingModel { path: path.to_path_buf() });
            }
        }
        let tile_tokens = tile_tokens(mmproj)?;
        let start = Instant::now();
        let params = LlamaModelParams::default().with_use_mmap(false);
        let llama = LlamaModel::load_from_file(backend()?, model, &params)
            .map_err(|e| VisionError::Load { path: model.to_path_buf(), why: e.to_string() })?;
        let load_ms = start.elapsed().as_millis() as u64;
        info!(path = %model.display(), load_ms, params = llama.n_params(), "vision language model loaded");
        Ok(VisionModel { model: llama, mmproj: mmproj.to_path_buf(), tile_tokens, load_ms })
    }

    pub fn tile_tokens(&self) -> i32 {
        self.tile_tokens
    }
}

fn tile_tokens(mmproj: &Path) -> Result<i32, VisionError> {
    let bad = |why: &str| VisionError::Load { path: mmproj.to_path_buf(), why: why.to_string() };
    let gguf = GgufContext::from_file(mmproj).ok_or_else(|| bad("not a GGUF file"))?;
    let u32_key = |key: &str| {
        let idx = gguf.find_key(key);
        (idx >= 0).then(|| gguf.val_u32(idx))
    };
    let image = u32_key("clip.vision.image_size").ok_or_else(|| bad("not a vision projector (no clip.vision.image_size)"))?;
    let patch = u32_key("clip.vision.patch_size").filter(|p| *p > 0).ok_or_else(|| bad("no clip.vision.patch_size"))?;
    let merge = u32_key("clip.vision.projector.scale_factor").filter(|m| *m > 0).unwrap_or(1);
    let side = image / patch / merge;
    if side == 0 {
        return Err(bad("image size smaller than one patch"));
    }
    Ok((side * side) as i32)
}

/// Figures for one answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DescribeStats {
    /// Tokens the picture took (every tile and the overview).
    pub image_tokens: usize,
    /// All prompt tokens: the picture's and the text's.
    pub prompt_tokens: usize,
    /// Encoding the picture and evaluating the whole prompt, milliseconds.
    pub prompt_ms: u64,
    pub generated_tokens: u32,
    /// Generating, milliseconds.
    pub generate_ms: u64,
    /// From the start to the first complete sentence, milliseconds.
    pub first_sentence_ms: Option<u64>,
    pub total_ms: u64,
    /// Generation stopped at `max_tokens`; an unfinished last sentence was dropped.
    pub truncated: bool,
    /// What was said, in order.
    pub sentences: Vec<String>,
}

/// A model's context with its projector.
pub struct Engine<'m> {
    model: &'m VisionModel,
    ctx: LlamaContext<'m>,
    mtmd: MtmdContext,
    n_batch: u32,
    n_ctx: usize,
    max_tokens: usize,
    system_prompt: String,
    cancel: Arc<AtomicBool>,
    /// Loading the projector, milliseconds.
    pub mmproj_load_ms: u64,
}

impl<'m> Engine<'m> {
    pub fn new(model: &'m VisionModel, config: &VisionConfig) -> Result<Self, VisionError> {
        let threads = config.thread_count();
        let n_batch = 512;
        let params = LlamaContextParams::default()
            .with_n_ctx(std::num::NonZeroU32::new(config.context_tokens))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch)
            .with_n_seq_max(1)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model.model.new_context(backend()?, params).map_err(|e| VisionError::Llama(format!("context: {e}")))?;
        let start = Instant::now();
        let mtmd_params = MtmdContextParams {
            use_gpu: false,
            print_timings: false,
            n_threads: threads,
            media_marker: std::ffi::CString::new(mtmd_default_marker()).unwrap_or_default(),
            image_min_tokens: -1,
            // One tile's worth of tokens: llama.cpp then sizes the picture to a single tile (plus the overview).
            image_max_tokens: if config.image_splitting { -1 } else { model.tile_tokens },
        };
        let mmproj = model.mmproj.to_string_lossy().into_owned();
        let mtmd = MtmdContext::init_from_file(&mmproj, &model.model, &mtmd_params)
            .map_err(|e| VisionError::Load { path: model.mmproj.clone(), why: format!("projector: {e}") })?;
        if !mtmd.support_vision() {
            return Err(VisionError::Load { path: model.mmproj.clone(), why: "the projector has no vision encoder".into() });
        }
        let mmproj_load_ms = start.elapsed().as_millis() as u64;
        info!(path = %model.mmproj.display(), mmproj_load_ms, splitting = config.image_splitting, "vision projector loaded");
        Ok(Engine {
            model,
            ctx,
            mtmd,
            n_batch,
            n_ctx: config.context_tokens as usize,
            max_tokens: config.max_tokens as usize,
            system_prompt: config.system_prompt().to_string(),
            cancel: Arc::new(AtomicBool::new(false)),
            mmproj_load_ms,
        })
    }

    /// Uses `flag` to stop an answer in progress at the next token (set at shutdown).
    pub fn set_cancel_flag(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = flag;
    }

    /// Runs one small picture through encoder and model so the first real question pays no first-use costs.
    pub fn warm_up(&mut self) -> Result<u64, VisionError> {
        let start = Instant::now();
        let grey = RgbImage::from_pixel(64, 48, image::Rgb([128, 128, 128]));
        let max = std::mem::replace(&mut self.max_tokens, 1);
        let result = self.describe(&grey, None, |_| {});
        self.max_tokens = max;
        result?;
        Ok(start.elapsed().as_millis() as u64)
    }

    fn tokenize(&self, image: &RgbImage, question: &str) -> Result<MtmdInputChunks, VisionError> {
        let bitmap = MtmdBitmap::from_image_data(image.width(), image.height(), image.as_raw())
            .map_err(|e| VisionError::Llama(format!("bitmap: {e}")))?;
        let text = prompt(&self.system_prompt, question);
        self.mtmd
            .tokenize(MtmdInputText { text, add_special: false, parse_special: true }, &[&bitmap])
            .map_err(|e| VisionError::Llama(format!("tokenize: {e}")))
    }

    /// Encodes the picture only (no language model), for the benchmark: image tokens and milliseconds.
    pub fn encode_only(&mut self, image: &RgbImage) -> Result<(usize, u64), VisionError> {
        let chunks = self.tokenize(image, DEFAULT_QUESTION)?;
        let start = Instant::now();
        let mut tokens = 0;
        for chunk in (0..chunks.len()).filter_map(|i| chunks.get(i)) {
            if chunk.chunk_type() == MtmdInputChunkType::Image {
                tokens += chunk.n_tokens();
                self.mtmd.encode_chunk(&chunk).map_err(|e| VisionError::Llama(format!("encode: {e}")))?;
            }
        }
        Ok((tokens, start.elapsed().as_millis() as u64))
    }

    /// Answers `question` (default "What do you see?") about `image`, handing each sentence to `on_sentence`
    /// as soon as it is complete.
    pub fn describe(&mut self, image: &RgbImage, question: Option<&str>, mut on_sentence: impl FnMut(&str)) -> Result<DescribeStats, VisionError> {
        let start = Instant::now();
        self.ctx.clear_kv_cache();
        let chunks = self.tokenize(image, question.unwrap_or(DEFAULT_QUESTION))?;
        let mut stats = DescribeStats { prompt_tokens: chunks.total_tokens(), ..DescribeStats::default() };
        stats.image_tokens = (0..chunks.len())
            .filter_map(|i| chunks.get(i))
            .filter(|c| c.chunk_type() == MtmdInputChunkType::Image)
            .map(|c| c.n_tokens())
            .sum();
        if stats.prompt_tokens + self.max_tokens >= self.n_ctx {
            return Err(VisionError::ContextOverflow { tokens: stats.prompt_tokens, context: self.n_ctx });
        }
        let mut pos = chunks
            .eval_chunks(&mut self.mtmd, &mut self.ctx, 0, 0, self.n_batch as i32, true)
            .map_err(|e| VisionError::Llama(format!("evaluating the picture: {e}")))?;
        stats.prompt_ms = start.elapsed().as_millis() as u64;

        let gen_start = Instant::now();
        let model = self.model;
        let vocab = model.model.vocab();
        let mut sampler = LlamaSampler::greedy();
        let mut batch = LlamaBatch::new(1, 1);
        let mut speech = SpeechStream::default();
        let mut piece = Vec::new();
        let mut emit = |sentence: String, stats: &mut DescribeStats| {
            stats.first_sentence_ms.get_or_insert(start.elapsed().as_millis() as u64);
            on_sentence(&sentence);
            stats.sentences.push(sentence);
        };
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(VisionError::Cancelled);
            }
            if stats.generated_tokens as usize >= self.max_tokens {
                stats.truncated = true;
                break;
            }
            let token = sampler.sample(&self.ctx, -1);
            sampler.accept(token);
            if vocab.is_eog(token) {
                break;
            }
            stats.generated_tokens += 1;
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            for sentence in speech.push_bytes(&piece) {
                emit(sentence, &mut stats);
            }
            batch.clear();
            batch.add(token, pos, &[0], true).map_err(|e| VisionError::Llama(format!("batch: {e}")))?;
            self.ctx.decode(&mut batch).map_err(|e| VisionError::Llama(format!("decode: {e}")))?;
            pos += 1;
        }
        let mut rest = speech.finish();
        // Cut off at the token limit, the last piece is usually half a sentence: say it only if nothing else was said.
        if stats.truncated && (!stats.sentences.is_empty() || rest.len() > 1) {
            rest.retain(|s| s.ends_with(['.', '!', '?', '…', '"', ')']));
        }
        for sentence in rest {
            emit(sentence, &mut stats);
        }
        stats.generate_ms = gen_start.elapsed().as_millis() as u64;
        stats.total_ms = start.elapsed().as_millis() as u64;
        Ok(stats)
    }
}

/// SmolVLM's chat format as llama.cpp renders it (`<|im_start|>` opens the text, it is not ChatML), with the
/// picture's marker before the question.
pub fn prompt(system: &str, question: &str) -> String {
    format!("<|im_start|>{system}\n\nUser: {}{question}<end_of_utterance>\nAssistant:", mtmd_default_marker())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_follows_smolvlm() {
        let p = prompt("Be brief.", "Is the stove on?");
        assert_eq!(p, "<|im_start|>Be brief.\n\nUser: <__media__>Is the stove on?<end_of_utterance>\nAssistant:");
    }
}
