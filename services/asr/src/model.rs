//! Checking a whisper.cpp model file before whisper.cpp sees it.
//!
//! whisper.cpp trusts its input: an unknown `ftype` hits a `GGML_ASSERT` (abort), absurd hparams make
//! it allocate without bound, and a file cut inside its last tensor loads "successfully" with garbage
//! weights. This walks the whole legacy ggml layout (magic, 11 hparams, mel filters, vocabulary,
//! tensor records) and checks every tensor's name, shape and byte count against the hparams, so a
//! corrupt or truncated download becomes a clear error instead of a crash.

use std::collections::HashMap;

use thiserror::Error;

/// `ggml` in little-endian order.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("not a whisper.cpp ggml model (magic {0:#010x}, expected 0x67676d6c)")]
    Magic(u32),
    #[error("file ends early, inside the {0} ({1} bytes; the file is truncated)")]
    Truncated(&'static str, usize),
    #[error("implausible hyperparameter {name} = {value}")]
    Hparam { name: &'static str, value: i64 },
    #[error("unsupported weight type (ftype {0})")]
    Ftype(i32),
    #[error("tensor record {index}: {why}")]
    Tensor { index: usize, why: String },
    #[error("only {loaded} of {expected} tensors present")]
    Missing { loaded: usize, expected: usize },
}

/// whisper's hyperparameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// Weight type (ggml_ftype) plus 1000 × quantization version.
    pub ftype: i32,
}

impl Hparams {
    /// whisper tiny.en.
    pub const TINY_EN: Hparams = Hparams {
        n_vocab: 51864,
        n_audio_ctx: 1500,
        n_audio_state: 384,
        n_audio_head: 6,
        n_audio_layer: 4,
        n_text_ctx: 448,
        n_text_state: 384,
        n_text_head: 6,
        n_text_layer: 4,
        n_mels: 80,
        ftype: 1,
    };
    /// whisper base.en.
    pub const BASE_EN: Hparams =
        Hparams { n_audio_state: 512, n_audio_head: 8, n_audio_layer: 6, n_text_state: 512, n_text_head: 8, n_text_layer: 6, ..Self::TINY_EN };

    pub fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    /// Whisper's size name by encoder depth, as whisper.cpp names it.
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 => "large",
            _ => "unknown size",
        }
    }

    fn check(&self) -> Result<(), ModelError> {
        let range = |name: &'static str, value: i32, lo: i32, hi: i32| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(ModelError::Hparam { name, value: value as i64 })
            }
        };
        range("n_vocab", self.n_vocab, 51864, 52000)?;
        range("n_audio_ctx", self.n_audio_ctx, 1, 1500)?;
        range("n_audio_state", self.n_audio_state, 1, 4096)?;
        range("n_audio_head", self.n_audio_head, 1, 64)?;
        range("n_audio_layer", self.n_audio_layer, 1, 64)?;
        range("n_text_ctx", self.n_text_ctx, 1, 4096)?;
        range("n_text_state", self.n_text_state, 1, 4096)?;
        range("n_text_head", self.n_text_head, 1, 64)?;
        range("n_text_layer", self.n_text_layer, 1, 64)?;
        range("n_mels", self.n_mels, 1, 256)?;
        if self.n_text_state != self.n_audio_state {
            return Err(ModelError::Hparam { name: "n_text_state (≠ n_audio_state)", value: self.n_text_state as i64 });
        }
        if self.n_audio_state % self.n_audio_head != 0 || self.n_text_state % self.n_text_head != 0 {
            return Err(ModelError::Hparam { name: "n_audio_state (not a multiple of the heads)", value: self.n_audio_state as i64 });
        }
        // The ftypes whisper.cpp's converter and `quantize` write.
        if !matches!(self.ftype % 1000, 0 | 1 | 2 | 3 | 7 | 8 | 9 | 10..=14) || self.ftype < 0 {
            return Err(ModelError::Ftype(self.ftype));
        }
        Ok(())
    }
}

/// What a checked file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSummary {
    pub hparams: Hparams,
    /// Vocabulary entries stored in the file (whisper.cpp fills in the rest up to n_vocab).
    pub vocab_stored: usize,
    /// Tensors present: all of them, or 0 for whisper.cpp's weightless test files.
    pub tensors: usize,
}

impl ModelSummary {
    pub fn has_weights(&self) -> bool {
        self.tensors > 0
    }
}

/// Bytes per block and elements per block of the ggml tensor types a whisper file may hold.
fn type_size(ttype: i32) -> Option<(usize, usize)> {
    Some(match ttype {
        0 => (4, 1),     // f32
        1 => (2, 1),     // f16
        2 => (18, 32),   // q4_0
        3 => (20, 32),   // q4_1
        6 => (22, 32),   // q5_0
        7 => (24, 32),   // q5_1
        8 => (34, 32),   // q8_0
        10 => (84, 256), // q2_K
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256), // q6_K
        30 => (2, 1),    // bf16
        _ => return None,
    })
}

/// Every tensor whisper.cpp expects, with its shape in ggml order (ne0 first).
pub fn expected_tensors(h: &Hparams) -> Vec<(String, Vec<i64>)> {
    let (s, sa, st) = (h.n_audio_state as i64, h.n_audio_state as i64, h.n_text_state as i64);
    let mut t: Vec<(String, Vec<i64>)> = vec![
        ("encoder.positional_embedding".into(), vec![sa, h.n_audio_ctx as i64]),
        ("encoder.conv1.weight".into(), vec![3, h.n_mels as i64, sa]),
        ("encoder.conv1.bias".into(), vec![1, sa]),
        ("encoder.conv2.weight".into(), vec![3, sa, sa]),
        ("encoder.conv2.bias".into(), vec![1, sa]),
        ("encoder.ln_post.weight".into(), vec![sa]),
        ("encoder.ln_post.bias".into(), vec![sa]),
        ("decoder.positional_embedding".into(), vec![st, h.n_text_ctx as i64]),
        ("decoder.token_embedding.weight".into(), vec![st, h.n_vocab as i64]),
        ("decoder.ln.weight".into(), vec![st]),
        ("decoder.ln.bias".into(), vec![st]),
    ];
    let block = |prefix: String, n: i64, out: &mut Vec<(String, Vec<i64>)>| {
        out.push((format!("{prefix}mlp_ln.weight"), vec![n]));
        out.push((format!("{prefix}mlp_ln.bias"), vec![n]));
        out.push((format!("{prefix}mlp.0.weight"), vec![n, 4 * n]));
        out.push((format!("{prefix}mlp.0.bias"), vec![4 * n]));
        out.push((format!("{prefix}mlp.2.weight"), vec![4 * n, n]));
        out.push((format!("{prefix}mlp.2.bias"), vec![n]));
    };
    let attn = |prefix: String, n: i64, out: &mut Vec<(String, Vec<i64>)>| {
        for (leaf, shape) in [
            ("_ln.weight", vec![n]),
            ("_ln.bias", vec![n]),
            (".query.weight", vec![n, n]),
            (".query.bias", vec![n]),
            (".key.weight", vec![n, n]),
            (".value.weight", vec![n, n]),
            (".value.bias", vec![n]),
            (".out.weight", vec![n, n]),
            (".out.bias", vec![n]),
        ] {
            out.push((format!("{prefix}{leaf}"), shape));
        }
    };
    for i in 0..h.n_audio_layer {
        block(format!("encoder.blocks.{i}."), s, &mut t);
        attn(format!("encoder.blocks.{i}.attn"), s, &mut t);
    }
    for i in 0..h.n_text_layer {
        block(format!("decoder.blocks.{i}."), st, &mut t);
        attn(format!("decoder.blocks.{i}.attn"), st, &mut t);
        attn(format!("decoder.blocks.{i}.cross_attn"), st, &mut t);
    }
    t
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(ModelError::Truncated(what, self.bytes.len()))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, ModelError> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

/// Walks the whole file. Accepts whisper.cpp's weightless test files (no tensor records at all).
pub fn check(bytes: &[u8]) -> Result<ModelSummary, ModelError> {
    let mut r = Reader { bytes, at: 0 };
    let magic = r.i32("magic").map_err(|_| ModelError::Magic(0))? as u32;
    if magic != GGML_MAGIC {
        return Err(ModelError::Magic(magic));
    }
    let mut hp = [0i32; 11];
    for v in hp.iter_mut() {
        *v = r.i32("hyperparameters")?;
    }
    let h = Hparams {
        n_vocab: hp[0],
        n_audio_ctx: hp[1],
        n_audio_state: hp[2],
        n_audio_head: hp[3],
        n_audio_layer: hp[4],
        n_text_ctx: hp[5],
        n_text_state: hp[6],
        n_text_head: hp[7],
        n_text_layer: hp[8],
        n_mels: hp[9],
        ftype: hp[10],
    };
    h.check()?;

    let n_mel = r.i32("mel filters")?;
    let n_fft = r.i32("mel filters")?;
    if !(1..=256).contains(&n_mel) || !(1..=4096).contains(&n_fft) {
        return Err(ModelError::Hparam { name: "mel filter bank size", value: n_mel as i64 * n_fft as i64 });
    }
    r.take(n_mel as usize * n_fft as usize * 4, "mel filters")?;

    let n_vocab = r.i32("vocabulary")?;
    if !(0..=h.n_vocab).contains(&n_vocab) {
        return Err(ModelError::Hparam { name: "stored vocabulary size", value: n_vocab as i64 });
    }
    for _ in 0..n_vocab {
        let len = r.i32("vocabulary")?;
        if !(0..=1024).contains(&len) {
            return Err(ModelError::Hparam { name: "vocabulary entry length", value: len as i64 });
        }
        r.take(len as usize, "vocabulary")?;
    }

    let mut expected: HashMap<String, Vec<i64>> = expected_tensors(&h).into_iter().collect();
    let total = expected.len();
    let mut index = 0;
    while !r.done() {
        let bad = |why: String| ModelError::Tensor { index, why };
        let n_dims = r.i32("tensor header")?;
        let name_len = r.i32("tensor header")?;
        let ttype = r.i32("tensor header")?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(bad(format!("bad header (n_dims {n_dims}, name length {name_len})")));
        }
        let mut ne = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            ne.push(r.i32("tensor header")? as i64);
        }
        let name = String::from_utf8_lossy(r.take(name_len as usize, "tensor header")?).into_owned();
        let Some(shape) = expected.remove(&name) else {
            return Err(bad(format!("unexpected or repeated tensor `{name}`")));
        };
        // whisper.cpp compares the first three dimensions, padding missing ones with 1.
        let pad = |v: &[i64]| -> Vec<i64> { (0..4).map(|i| v.get(i).copied().unwrap_or(1)).collect() };
        if pad(&ne) != pad(&shape) {
            return Err(bad(format!("`{name}` has shape {ne:?}, expected {shape:?}")));
        }
        let (block_bytes, block_elems) =
            type_size(ttype).ok_or_else(|| bad(format!("`{name}` has unknown type {ttype}")))?;
        let elems: i64 = ne.iter().product();
        if elems % block_elems as i64 != 0 {
            return Err(bad(format!("`{name}` has {elems} elements, not a whole number of type {ttype} blocks")));
        }
        r.take(elems as usize / block_elems * block_bytes, "tensor data")?;
        index += 1;
    }
    if index != 0 && index != total {
        return Err(ModelError::Missing { loaded: index, expected: total });
    }
    Ok(ModelSummary { hparams: h, vocab_stored: n_vocab as usize, tensors: index })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth;

    fn tiny_file() -> Vec<u8> {
        let h = Hparams { n_audio_state: 16, n_text_state: 16, n_audio_head: 2, n_text_head: 2, ..Hparams::TINY_EN };
        let mut out = Vec::new();
        synth::write_random(&mut out, &h, 7).unwrap();
        out
    }

    #[test]
    fn a_complete_file_passes() {
        let bytes = tiny_file();
        let s = check(&bytes).unwrap();
        assert_eq!(s.tensors, expected_tensors(&s.hparams).len());
        assert!(s.has_weights());
        assert_eq!(s.hparams.size_name(), "tiny");
    }

    #[test]
    fn truncation_anywhere_is_caught() {
        let bytes = tiny_file();
        for cut in [0, 3, 20, 100, 5_000, bytes.len() / 2, bytes.len() - 1] {
            assert!(check(&bytes[..cut]).is_err(), "cut at {cut} passed");
        }
        // Cut inside the last tensor's data: whisper.cpp itself would accept this.
        let err = check(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, ModelError::Truncated("tensor data", _)), "{err}");
    }

    #[test]
    fn bad_magic_hparams_and_ftype_are_caught() {
        let bytes = tiny_file();
        let mut b = bytes.clone();
        b[0] = b'x';
        assert!(matches!(check(&b), Err(ModelError::Magic(_))));
        let set = |b: &mut Vec<u8>, field: usize, v: i32| b[4 + 4 * field..8 + 4 * field].copy_from_slice(&v.to_le_bytes());
        let mut b = bytes.clone();
        set(&mut b, 2, 1 << 30);
        assert!(matches!(check(&b), Err(ModelError::Hparam { name: "n_audio_state", .. })));
        let mut b = bytes.clone();
        set(&mut b, 10, 5);
        assert_eq!(check(&b), Err(ModelError::Ftype(5)));
        let mut b = bytes.clone();
        set(&mut b, 0, -1);
        assert!(check(&b).is_err());
    }

    #[test]
    fn trailing_garbage_is_caught() {
        let mut bytes = tiny_file();
        bytes.extend_from_slice(&[1, 0, 0, 0, 200, 0, 0, 0]);
        assert!(check(&bytes).is_err());
    }
}
