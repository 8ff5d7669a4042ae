//! `hearth models import faster-whisper DIR`: a CTranslate2 whisper model (what faster-whisper and
//! the Wyoming faster-whisper add-on download) turned into whisper.cpp's ggml file.
//!
//! The directory holds `model.bin` (CTranslate2 weights, f16, f32, bf16 or int8), `config.json` and a
//! vocabulary. The ggml file needs three things CTranslate2 does not have in the same form: the
//! hyperparameters (read off the weights' shapes), the mel filter bank (recomputed, [`mel`]) and the
//! vocabulary as raw bytes ([`vocab`]). Weights are renamed and split per [`ggml::plan`]; int8 weights
//! are dequantized to f16, which whisper.cpp runs at full speed (`whisper-quantize` can shrink it again).
//!
//! # Layout
//! - [`ct2`]: reading `model.bin` one variable at a time.
//! - [`ggml`]: the output layout, tensor names, shapes and precisions.
//! - [`mel`]: whisper's mel filter bank.
//! - [`vocab`]: byte-level tokens to raw bytes.
//! - [`half`]: f16 and bf16 conversions.

pub mod ct2;
pub mod ggml;
pub mod half;
pub mod mel;
pub mod vocab;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use ggml::Hparams;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {why}", path.display())]
    Format { path: PathBuf, why: String },
    #[error("variable {variable}: {why}")]
    Tensor { variable: String, why: String },
    #[error("cannot write the ggml file: {0}")]
    Write(std::io::Error),
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub hparams: Hparams,
    pub path: PathBuf,
    pub tensors: usize,
    pub vocabulary: usize,
    /// CTranslate2's storage types of the weights (not the scalar settings), e.g. `["F16"]` or `["F32", "I8"]`.
    pub source_types: Vec<String>,
    pub bytes: u64,
}

/// The file name whisper.cpp's own downloads use for this model: `ggml-tiny.en.bin`, `ggml-base.bin`.
pub fn default_file_name(h: &Hparams) -> String {
    let lang = if h.is_multilingual() { "" } else { ".en" };
    format!("ggml-{}{lang}.bin", h.size_name())
}

/// Reads the hyperparameters of the CTranslate2 whisper model in `dir`.
pub fn inspect(dir: &Path) -> Result<Hparams, ImportError> {
    let mut model = ct2::Ct2Model::open(&dir.join("model.bin"))?;
    hparams(&mut model, dir)
}

/// Converts the model in `dir` to a ggml file at `out` (written beside it first, then renamed, so a
/// failed import never leaves half a model where an engine would load it).
pub fn import(dir: &Path, out: &Path) -> Result<Imported, ImportError> {
    let mut model = ct2::Ct2Model::open(&dir.join("model.bin"))?;
    if model.spec != "WhisperSpec" {
        return Err(ImportError::Format {
            path: dir.join("model.bin"),
            why: format!("a CTranslate2 {} model, not whisper", model.spec),
        });
    }
    let h = hparams(&mut model, dir)?;
    let tokens = vocab::read(dir)?;
    if tokens.len() > h.n_vocab {
        return Err(ImportError::Format {
            path: dir.into(),
            why: format!("{} ordinary tokens but only {} embeddings", tokens.len(), h.n_vocab),
        });
    }
    let mut source_types: Vec<String> = model.names().filter_map(|n| model.variable(n)).filter(|v| !v.shape.is_empty()).map(|v| format!("{:?}", v.dtype)).collect();
    source_types.sort();
    source_types.dedup();

    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ImportError::Io { path: parent.into(), source })?;
    }
    let partial = out.with_extension("bin.partial");
    let file = File::create(&partial).map_err(|source| ImportError::Io { path: partial.clone(), source })?;
    let written = write_all(BufWriter::new(file), &mut model, &h, &tokens);
    let tensors = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(|source| ImportError::Io { path: out.into(), source })?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(Imported { hparams: h, path: out.into(), tensors, vocabulary: tokens.len(), source_types, bytes })
}

fn write_all<W: Write>(mut out: W, model: &mut ct2::Ct2Model, h: &Hparams, tokens: &[Vec<u8>]) -> Result<usize, ImportError> {
    let io = ImportError::Write;
    h.write(&mut out).map_err(io)?;
    out.write_all(&(h.n_mels as i32).to_le_bytes()).map_err(io)?;
    out.write_all(&(mel::N_FFT_BINS as i32).to_le_bytes()).map_err(io)?;
    for w in mel::filters(h.n_mels) {
        out.write_all(&w.to_le_bytes()).map_err(io)?;
    }
    out.write_all(&(tokens.len() as i32).to_le_bytes()).map_err(io)?;
    for t in tokens {
        out.write_all(&(t.len() as i32).to_le_bytes()).map_err(io)?;
        out.write_all(t).map_err(io)?;
    }
    let plan = ggml::plan(h);
    for t in &plan {
        ggml::write_tensor(&mut out, model, t)?;
    }
    out.flush().map_err(io)?;
    Ok(plan.len())
}

/// Hyperparameters from the weights' shapes and the stored head counts.
fn hparams(model: &mut ct2::Ct2Model, dir: &Path) -> Result<Hparams, ImportError> {
    let shape = |model: &ct2::Ct2Model, name: &str| {
        model.variable(name).map(|v| v.shape.clone()).ok_or_else(|| ImportError::Format {
            path: dir.join("model.bin"),
            why: format!("no variable {name}: not a CTranslate2 whisper model"),
        })
    };
    let layers = |model: &ct2::Ct2Model, side: &str| {
        let prefix = format!("{side}/layer_");
        model
            .names()
            .filter_map(|n| n.strip_prefix(&prefix)?.split('/').next()?.parse::<usize>().ok())
            .max()
            .map_or(0, |m| m + 1)
    };
    let audio_pe = shape(model, "encoder/position_encodings/encodings")?;
    let text_pe = shape(model, "decoder/position_encodings/encodings")?;
    let embeddings = shape(model, "decoder/embeddings/weight")?;
    let conv1 = shape(model, "encoder/conv1/weight")?;
    let bad = |why: String| ImportError::Format { path: dir.join("model.bin"), why };
    if audio_pe.len() != 2 || text_pe.len() != 2 || embeddings.len() != 2 || conv1.len() != 3 {
        return Err(bad("unexpected ranks of the embeddings or the first convolution".into()));
    }
    let h = Hparams {
        n_vocab: embeddings[0],
        n_audio_ctx: audio_pe[0],
        n_audio_state: audio_pe[1],
        n_audio_head: model.scalar("encoder/num_heads")? as usize,
        n_audio_layer: layers(model, "encoder"),
        n_text_ctx: text_pe[0],
        n_text_state: text_pe[1],
        n_text_head: model.scalar("decoder/num_heads")? as usize,
        n_text_layer: layers(model, "decoder"),
        n_mels: conv1[1],
        ftype: 1,
    };
    if h.n_audio_state != h.n_text_state || h.n_audio_state != embeddings[1] || conv1[0] != h.n_audio_state {
        return Err(bad(format!("encoder and decoder widths differ ({h:?})")));
    }
    if h.n_audio_head == 0 || h.n_text_head == 0 || h.n_audio_state % h.n_audio_head != 0 || h.n_text_state % h.n_text_head != 0 {
        return Err(bad(format!("width {} does not split into {} heads", h.n_audio_state, h.n_audio_head)));
    }
    if h.n_audio_layer == 0 || h.n_text_layer == 0 {
        return Err(bad("no encoder or decoder layers".into()));
    }
    Ok(h)
}
