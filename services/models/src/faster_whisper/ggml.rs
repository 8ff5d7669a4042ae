//! whisper.cpp's legacy ggml file: what goes where, and in which precision.
//!
//! Layout (little-endian): u32 magic `ggml`, 11 i32 hyperparameters, the mel filter bank (i32 rows,
//! i32 columns, f32 values), the vocabulary (i32 count, then i32 length and bytes per token), then one
//! record per tensor: i32 rank, i32 name length, i32 type (0 f32, 1 f16), the shape innermost first
//! (ggml's `ne` order, the reverse of numpy's), the name, the values. whisper.cpp looks tensors up by
//! name and insists on each one's type: as in its own converters, matrices are f16 while vectors, the
//! convolution biases (stored as n × 1) and both positional embeddings are f32.

use std::io::{self, Write};

use super::ct2::{Ct2Model, Values};
use super::half::{f16_to_f32, f32_to_f16};
use super::ImportError;

/// `ggml` as a little-endian u32.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// whisper's hyperparameters in file order. `ftype` 1 means f16 matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
    pub ftype: i32,
}

impl Hparams {
    /// English-only models have 51 864 tokens; multilingual ones more.
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// whisper's size by encoder depth and width.
    pub fn size_name(&self) -> &'static str {
        match (self.n_audio_layer, self.n_audio_state) {
            (4, 384) => "tiny",
            (6, 512) => "base",
            (12, 768) => "small",
            (24, 1024) => "medium",
            (32, 1280) => "large",
            (_, _) => "custom",
        }
    }

    pub fn write<W: Write>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(&GGML_MAGIC.to_le_bytes())?;
        let fields = [
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
        ];
        for v in fields {
            out.write_all(&(v as i32).to_le_bytes())?;
        }
        out.write_all(&self.ftype.to_le_bytes())
    }
}

/// Where a ggml tensor's values come from in the CTranslate2 model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub ct2: String,
    /// Rows of a fused projection (CTranslate2 stacks query, key and value): `(first, count)`.
    pub rows: Option<(usize, usize)>,
}

/// One tensor of the output: its whisper.cpp name, numpy-order shape, precision and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorPlan {
    pub name: String,
    pub shape: Vec<usize>,
    pub f16: bool,
    pub source: Source,
}

/// Every tensor whisper.cpp loads, mapped from CTranslate2's whisper spec (revision 3).
///
/// CTranslate2 fuses projections that whisper.cpp keeps apart: self-attention's query, key and value
/// into one `linear_0` of 3·d rows, cross-attention's key and value into `linear_1` of 2·d rows. The
/// fused bias has a block of zeros for the key, which whisper has no bias for; dropping it changes
/// nothing anyway, since adding the same q·b to every score of a query leaves the softmax as it was.
pub fn plan(h: &Hparams) -> Vec<TensorPlan> {
    let d = h.n_audio_state;
    let mut plan = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, ct2: String, rows: Option<(usize, usize)>| {
        // whisper.cpp's rule: matrices f16; vectors, conv biases and positional embeddings f32.
        let f16 = shape.len() >= 2 && !name.ends_with("positional_embedding") && !name.ends_with("conv1.bias") && !name.ends_with("conv2.bias");
        plan.push(TensorPlan { name, shape, f16, source: Source { ct2, rows } });
    };
    add("encoder.positional_embedding".into(), vec![h.n_audio_ctx, d], "encoder/position_encodings/encodings".into(), None);
    add("encoder.conv1.weight".into(), vec![d, h.n_mels, 3], "encoder/conv1/weight".into(), None);
    add("encoder.conv1.bias".into(), vec![d, 1], "encoder/conv1/bias".into(), None);
    add("encoder.conv2.weight".into(), vec![d, d, 3], "encoder/conv2/weight".into(), None);
    add("encoder.conv2.bias".into(), vec![d, 1], "encoder/conv2/bias".into(), None);
    for i in 0..h.n_audio_layer {
        let (g, c) = (format!("encoder.blocks.{i}."), format!("encoder/layer_{i}/"));
        attention(&mut add, &format!("{g}attn"), &format!("{c}self_attention/"), d, 3);
        mlp(&mut add, &g, &c, d);
    }
    add("encoder.ln_post.weight".into(), vec![d], "encoder/layer_norm/gamma".into(), None);
    add("encoder.ln_post.bias".into(), vec![d], "encoder/layer_norm/beta".into(), None);

    let d = h.n_text_state;
    add("decoder.positional_embedding".into(), vec![h.n_text_ctx, d], "decoder/position_encodings/encodings".into(), None);
    add("decoder.token_embedding.weight".into(), vec![h.n_vocab, d], "decoder/embeddings/weight".into(), None);
    for i in 0..h.n_text_layer {
        let (g, c) = (format!("decoder.blocks.{i}."), format!("decoder/layer_{i}/"));
        attention(&mut add, &format!("{g}attn"), &format!("{c}self_attention/"), d, 3);
        attention(&mut add, &format!("{g}cross_attn"), &format!("{c}attention/"), d, 2);
        mlp(&mut add, &g, &c, d);
    }
    add("decoder.ln.weight".into(), vec![d], "decoder/layer_norm/gamma".into(), None);
    add("decoder.ln.bias".into(), vec![d], "decoder/layer_norm/beta".into(), None);
    plan
}

type Add<'a> = dyn FnMut(String, Vec<usize>, String, Option<(usize, usize)>) + 'a;

/// An attention block. `fused` is 3 for self-attention (q, k, v in `linear_0`, out in `linear_1`) and
/// 2 for cross-attention (q in `linear_0`, k and v in `linear_1`, out in `linear_2`).
fn attention(add: &mut Add, g: &str, c: &str, d: usize, fused: usize) {
    add(format!("{g}_ln.weight"), vec![d], format!("{c}layer_norm/gamma"), None);
    add(format!("{g}_ln.bias"), vec![d], format!("{c}layer_norm/beta"), None);
    let (q, kv, kv_first, out) = if fused == 3 {
        ("linear_0", "linear_0", 1, "linear_1")
    } else {
        ("linear_0", "linear_1", 0, "linear_2")
    };
    add(format!("{g}.query.weight"), vec![d, d], format!("{c}{q}/weight"), Some((0, d)));
    add(format!("{g}.query.bias"), vec![d], format!("{c}{q}/bias"), Some((0, d)));
    add(format!("{g}.key.weight"), vec![d, d], format!("{c}{kv}/weight"), Some((kv_first * d, d)));
    add(format!("{g}.value.weight"), vec![d, d], format!("{c}{kv}/weight"), Some(((kv_first + 1) * d, d)));
    add(format!("{g}.value.bias"), vec![d], format!("{c}{kv}/bias"), Some(((kv_first + 1) * d, d)));
    add(format!("{g}.out.weight"), vec![d, d], format!("{c}{out}/weight"), None);
    add(format!("{g}.out.bias"), vec![d], format!("{c}{out}/bias"), None);
}

fn mlp(add: &mut Add, g: &str, c: &str, d: usize) {
    add(format!("{g}mlp_ln.weight"), vec![d], format!("{c}ffn/layer_norm/gamma"), None);
    add(format!("{g}mlp_ln.bias"), vec![d], format!("{c}ffn/layer_norm/beta"), None);
    add(format!("{g}mlp.0.weight"), vec![4 * d, d], format!("{c}ffn/linear_0/weight"), None);
    add(format!("{g}mlp.0.bias"), vec![4 * d], format!("{c}ffn/linear_0/bias"), None);
    add(format!("{g}mlp.2.weight"), vec![d, 4 * d], format!("{c}ffn/linear_1/weight"), None);
    add(format!("{g}mlp.2.bias"), vec![d], format!("{c}ffn/linear_1/bias"), None);
}

/// Reads one planned tensor from the model and writes its record.
pub fn write_tensor<W: Write>(out: &mut W, model: &mut Ct2Model, t: &TensorPlan) -> Result<(), ImportError> {
    let source = model.variable(&t.source.ct2).cloned();
    let Some(source) = source else {
        return Err(model_error(&t.source.ct2, "missing (not a CTranslate2 whisper model?)".into()));
    };
    let wanted: usize = t.shape.iter().product();
    let total = source.elements();
    let (start, len) = match t.source.rows {
        Some((first, rows)) => {
            let per_row = source.shape.iter().skip(1).product::<usize>();
            (first * per_row, rows * per_row)
        }
        None => (0, total),
    };
    if len != wanted || start + len > total {
        return Err(model_error(
            &t.source.ct2,
            format!("shape {:?} does not hold {} as {:?}", source.shape, t.name, t.shape),
        ));
    }
    let values = match model.values(&t.source.ct2)? {
        Values::F16(v) => Values::F16(v[start..start + len].to_vec()),
        Values::F32(v) => Values::F32(v[start..start + len].to_vec()),
    };
    let io = |e: io::Error| ImportError::Write(e);
    out.write_all(&(t.shape.len() as i32).to_le_bytes()).map_err(io)?;
    out.write_all(&(t.name.len() as i32).to_le_bytes()).map_err(io)?;
    out.write_all(&(t.f16 as i32).to_le_bytes()).map_err(io)?;
    for &dim in t.shape.iter().rev() {
        out.write_all(&(dim as i32).to_le_bytes()).map_err(io)?;
    }
    out.write_all(t.name.as_bytes()).map_err(io)?;
    let mut bytes = Vec::with_capacity(len * if t.f16 { 2 } else { 4 });
    match (values, t.f16) {
        (Values::F16(v), true) => v.iter().for_each(|h| bytes.extend_from_slice(&h.to_le_bytes())),
        (Values::F16(v), false) => v.iter().for_each(|&h| bytes.extend_from_slice(&f16_to_f32(h).to_le_bytes())),
        (Values::F32(v), true) => v.iter().for_each(|&x| bytes.extend_from_slice(&f32_to_f16(x).to_le_bytes())),
        (Values::F32(v), false) => v.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes())),
    }
    out.write_all(&bytes).map_err(io)
}

fn model_error(variable: &str, why: String) -> ImportError {
    ImportError::Tensor { variable: variable.into(), why }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY_EN: Hparams = Hparams {
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

    #[test]
    fn plan_has_every_tensor_of_tiny_en_with_whisper_cpp_types() {
        let p = plan(&TINY_EN);
        // 5 encoder stems + 4 × 15 + 2, then 2 decoder stems + 4 × 24 + 2.
        assert_eq!(p.len(), 5 + 4 * 15 + 2 + 2 + 4 * 24 + 2);
        let find = |n: &str| p.iter().find(|t| t.name == n).unwrap_or_else(|| panic!("{n}"));
        assert!(!find("encoder.positional_embedding").f16);
        assert!(!find("encoder.conv1.bias").f16 && find("encoder.conv1.bias").shape == [384, 1]);
        assert!(find("encoder.conv1.weight").f16);
        assert!(!find("decoder.blocks.3.cross_attn.value.bias").f16);
        let k = find("decoder.blocks.0.attn.key.weight");
        assert_eq!(k.source, Source { ct2: "decoder/layer_0/self_attention/linear_0/weight".into(), rows: Some((384, 384)) });
        let v = find("decoder.blocks.0.cross_attn.value.bias");
        assert_eq!(v.source, Source { ct2: "decoder/layer_0/attention/linear_1/bias".into(), rows: Some((384, 384)) });
        let names: std::collections::HashSet<_> = p.iter().map(|t| &t.name).collect();
        assert_eq!(names.len(), p.len(), "names are unique");
    }
}
