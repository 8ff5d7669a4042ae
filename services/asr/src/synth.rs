//! Random-weight whisper models of real shapes, for benchmarks.
//!
//! whisper's compute depends on the shapes, not the weight values, so a random model of tiny.en's or
//! base.en's exact hyperparameters times the encoder like the real one. Decoding length does depend
//! on the weights: the end-of-text token's embedding row is zero here, so its logit is 0 while the
//! best of 51 864 random logits is always above it. A random model therefore never stops by itself,
//! and the benchmark caps the tokens per utterance at a realistic count for the audio length.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::model::{expected_tensors, Hparams, GGML_MAGIC};

/// whisper's FFT size (400-sample window): 201 frequency bins per mel filter.
const N_FFT_BINS: i32 = 201;
/// English-only models' end-of-text token.
const TOKEN_EOT: usize = 50256;

/// xorshift64*: deterministic, fast, good enough for weights nobody reads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in -scale..scale.
    fn uniform(&mut self, scale: f32) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }
}

/// f32 → IEEE half bits, truncating; enough for values well inside f16's normal range.
pub fn f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    let mant = ((b >> 13) & 0x3ff) as u16;
    if exp <= 0 {
        sign
    } else if exp >= 31 {
        sign | 0x7c00
    } else {
        sign | ((exp as u16) << 10) | mant
    }
}

/// Writes a complete random-weight model in whisper.cpp's legacy ggml layout (f16 weights).
pub fn write_random<W: Write>(out: &mut W, h: &Hparams, seed: u64) -> io::Result<()> {
    let mut rng = Rng(seed | 1);
    let h = Hparams { ftype: 1, ..*h };
    out.write_all(&GGML_MAGIC.to_le_bytes())?;
    for v in h.to_array() {
        out.write_all(&v.to_le_bytes())?;
    }
    out.write_all(&h.n_mels.to_le_bytes())?;
    out.write_all(&N_FFT_BINS.to_le_bytes())?;
    for _ in 0..h.n_mels * N_FFT_BINS {
        out.write_all(&(rng.uniform(0.01).abs()).to_le_bytes())?;
    }
    // Single bytes only: whisper.cpp names the other ids itself.
    out.write_all(&256i32.to_le_bytes())?;
    for b in 0..=255u8 {
        out.write_all(&1i32.to_le_bytes())?;
        out.write_all(&[b])?;
    }
    let scale = 1.0 / (h.n_audio_state as f32).sqrt();
    for (name, shape) in expected_tensors(&h) {
        let elems: i64 = shape.iter().product();
        // Like the converter: 1-d tensors, conv biases and positional embeddings stay f32.
        let is_f32 = shape.len() == 1 || name.ends_with("conv1.bias") || name.ends_with("conv2.bias") || name.ends_with("positional_embedding");
        out.write_all(&(shape.len() as i32).to_le_bytes())?;
        out.write_all(&(name.len() as i32).to_le_bytes())?;
        out.write_all(&(if is_f32 { 0i32 } else { 1 }).to_le_bytes())?;
        for d in &shape {
            out.write_all(&(*d as i32).to_le_bytes())?;
        }
        out.write_all(name.as_bytes())?;
        let mut data = Vec::with_capacity(elems as usize * if is_f32 { 4 } else { 2 });
        let layer_norm_weight = name.ends_with("ln.weight") || name.ends_with("ln_post.weight");
        for i in 0..elems as usize {
            let v = if layer_norm_weight {
                1.0
            } else if name.ends_with("ln.bias") || name.ends_with("ln_post.bias") {
                0.0
            } else if name == "decoder.token_embedding.weight" && i / shape[0] as usize == TOKEN_EOT {
                0.0
            } else {
                rng.uniform(scale)
            };
            if is_f32 {
                data.extend_from_slice(&v.to_le_bytes());
            } else {
                data.extend_from_slice(&f16_bits(v).to_le_bytes());
            }
        }
        out.write_all(&data)?;
    }
    Ok(())
}

/// `<dir>/<name>.bin`, written once and reused; checked with [`crate::model::check`] so a file cut
/// short by an interrupted run is rewritten.
pub fn cached_random_model(dir: &Path, name: &str, h: &Hparams) -> io::Result<PathBuf> {
    let path = dir.join(format!("{name}.bin"));
    if let Ok(bytes) = fs::read(&path) {
        if crate::model::check(&bytes).is_ok_and(|s| s.hparams == Hparams { ftype: 1, ..*h }) {
            return Ok(path);
        }
    }
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.bin.partial"));
    {
        let mut w = BufWriter::new(fs::File::create(&tmp)?);
        write_random(&mut w, h, 0x4845_4152_5448)?;
        w.flush()?;
    }
    fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_of_common_values() {
        assert_eq!(f16_bits(0.0), 0);
        assert_eq!(f16_bits(1.0), 0x3c00);
        assert_eq!(f16_bits(-2.0), 0xc000);
        assert_eq!(f16_bits(0.5), 0x3800);
        assert_eq!(f16_bits(1e-9), 0);
        assert_eq!(f16_bits(1e9), 0x7c00);
    }

    #[test]
    fn random_models_are_deterministic_and_the_right_size() {
        let h = Hparams { n_audio_state: 8, n_text_state: 8, n_audio_head: 2, n_text_head: 2, ..Hparams::TINY_EN };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_random(&mut a, &h, 3).unwrap();
        write_random(&mut b, &h, 3).unwrap();
        assert_eq!(a, b);
        let s = crate::model::check(&a).unwrap();
        assert_eq!(s.hparams, h);
        let dir = tempfile::tempdir().unwrap();
        let p = cached_random_model(dir.path(), "t", &h).unwrap();
        let first = fs::metadata(&p).unwrap().modified().unwrap();
        assert_eq!(cached_random_model(dir.path(), "t", &h).unwrap(), p);
        assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), first);
    }
}
