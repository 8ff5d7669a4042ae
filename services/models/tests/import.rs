//! `import faster-whisper`: a small CTranslate2 whisper model written here (f32 and int8, every
//! variable the spec has) checked tensor by tensor after conversion, and the real tiny.en (from
//! `scripts/fetch-real-models.sh`) checked against whisper.cpp's own converter output in ../shared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hearth_models::faster_whisper::{default_file_name, import, inspect, ImportError};

/// A CTranslate2 variable: shape and values, stored as f32, or as int8 with a per-row scale.
struct Var {
    shape: Vec<u32>,
    values: Vec<f32>,
    int8: bool,
}

/// Writes a CTranslate2 `model.bin` (binary version 6) with the whisper spec's variables for a model
/// of width `d`, `layers` layers, `vocab` tokens, 8 mel bands and contexts of 12 and 6. Every value is
/// distinct (its index scaled), so a misplaced slice shows.
fn write_ct2(dir: &Path, d: u32, layers: u32, vocab: u32, int8: bool) -> HashMap<String, Var> {
    let mut vars: HashMap<String, Var> = HashMap::new();
    let mut counter = 0.0f32;
    let mut add = |name: String, shape: Vec<u32>| {
        let n: u32 = shape.iter().product();
        let values = (0..n)
            .map(|_| {
                counter += 1.0;
                (counter % 97.0 - 48.0) / 64.0
            })
            .collect();
        let quantize = int8 && shape.len() == 2 && name.ends_with("weight") && !name.contains("embeddings");
        vars.insert(name, Var { shape, values, int8: quantize });
    };
    add("encoder/conv1/weight".into(), vec![d, 8, 3]);
    add("encoder/conv1/bias".into(), vec![d]);
    add("encoder/conv2/weight".into(), vec![d, d, 3]);
    add("encoder/conv2/bias".into(), vec![d]);
    add("encoder/position_encodings/encodings".into(), vec![12, d]);
    add("encoder/layer_norm/gamma".into(), vec![d]);
    add("encoder/layer_norm/beta".into(), vec![d]);
    add("decoder/embeddings/weight".into(), vec![vocab, d]);
    add("decoder/position_encodings/encodings".into(), vec![6, d]);
    add("decoder/layer_norm/gamma".into(), vec![d]);
    add("decoder/layer_norm/beta".into(), vec![d]);
    let linear = |add: &mut dyn FnMut(String, Vec<u32>), p: String, rows: u32, cols: u32| {
        add(format!("{p}/weight"), vec![rows, cols]);
        add(format!("{p}/bias"), vec![rows]);
    };
    for side in ["encoder", "decoder"] {
        for l in 0..layers {
            let p = format!("{side}/layer_{l}");
            for part in ["self_attention", "ffn"] {
                add(format!("{p}/{part}/layer_norm/gamma"), vec![d]);
                add(format!("{p}/{part}/layer_norm/beta"), vec![d]);
            }
            linear(&mut add, format!("{p}/self_attention/linear_0"), 3 * d, d);
            linear(&mut add, format!("{p}/self_attention/linear_1"), d, d);
            linear(&mut add, format!("{p}/ffn/linear_0"), 4 * d, d);
            linear(&mut add, format!("{p}/ffn/linear_1"), d, 4 * d);
            if side == "decoder" {
                add(format!("{p}/attention/layer_norm/gamma"), vec![d]);
                add(format!("{p}/attention/layer_norm/beta"), vec![d]);
                linear(&mut add, format!("{p}/attention/linear_0"), d, d);
                linear(&mut add, format!("{p}/attention/linear_1"), 2 * d, d);
                linear(&mut add, format!("{p}/attention/linear_2"), d, d);
            }
        }
    }
    let mut out = Vec::new();
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    let scalars: [(&str, u8, Vec<u8>); 2] =
        [("decoder/num_heads", 2, 2i16.to_le_bytes().to_vec()), ("encoder/num_heads", 2, 2i16.to_le_bytes().to_vec())];
    let quantized: Vec<&String> = names.iter().copied().filter(|n| vars[*n].int8).collect();
    out.extend_from_slice(&6u32.to_le_bytes());
    string(&mut out, "WhisperSpec");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&((names.len() + scalars.len() + quantized.len()) as u32).to_le_bytes());
    for name in &names {
        let v = &vars[*name];
        string(&mut out, name);
        out.push(v.shape.len() as u8);
        v.shape.iter().for_each(|d| out.extend_from_slice(&d.to_le_bytes()));
        if v.int8 {
            out.push(1);
            out.extend_from_slice(&(v.values.len() as u32).to_le_bytes());
            let cols = v.shape[1] as usize;
            for row in v.values.chunks(cols) {
                let scale = 127.0 / row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                out.extend(row.iter().map(|x| (x * scale).round() as i8 as u8));
            }
        } else {
            out.push(0);
            out.extend_from_slice(&((v.values.len() * 4) as u32).to_le_bytes());
            v.values.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }
    }
    for name in &quantized {
        let v = &vars[*name];
        string(&mut out, &format!("{name}_scale"));
        out.push(1);
        out.extend_from_slice(&v.shape[0].to_le_bytes());
        out.push(0);
        out.extend_from_slice(&(v.shape[0] * 4).to_le_bytes());
        for row in v.values.chunks(v.shape[1] as usize) {
            let scale = 127.0 / row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            out.extend_from_slice(&scale.to_le_bytes());
        }
    }
    for (name, dtype, bytes) in &scalars {
        string(&mut out, name);
        out.push(0);
        out.push(if *dtype == 2 { 2 } else { 0 });
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    // The output projection shares the embeddings, as in every whisper model.
    out.extend_from_slice(&1u32.to_le_bytes());
    string(&mut out, "decoder/projection/weight");
    string(&mut out, "decoder/embeddings/weight");
    std::fs::write(dir.join("model.bin"), out).unwrap();
    let mut vocab: Vec<String> = (0..vocab - 3).map(|i| format!("Ġt{i}")).collect();
    vocab.extend(["<|endoftext|>".into(), "<|startoftranscript|>".into(), "<|en|>".into()]);
    std::fs::write(dir.join("vocabulary.txt"), vocab.join("\n")).unwrap();
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    vars
}

/// Tensors of a ggml whisper file: name → (ggml type, shape in ne order, values as f32).
fn read_ggml(path: &Path) -> (Vec<i32>, Vec<Vec<u8>>, HashMap<String, (i32, Vec<i32>, Vec<f32>)>) {
    let b = std::fs::read(path).unwrap();
    let mut at = 0;
    let word = |at: &mut usize| {
        let v = i32::from_le_bytes(b[*at..*at + 4].try_into().unwrap());
        *at += 4;
        v
    };
    assert_eq!(word(&mut at) as u32, 0x6767_6d6c);
    let hparams: Vec<i32> = (0..11).map(|_| word(&mut at)).collect();
    let (rows, cols) = (word(&mut at), word(&mut at));
    at += (rows * cols * 4) as usize;
    let n_vocab = word(&mut at);
    let mut vocab = Vec::new();
    for _ in 0..n_vocab {
        let len = word(&mut at) as usize;
        vocab.push(b[at..at + len].to_vec());
        at += len;
    }
    let mut tensors = HashMap::new();
    while at < b.len() {
        let (rank, name_len, ttype) = (word(&mut at), word(&mut at), word(&mut at));
        let shape: Vec<i32> = (0..rank).map(|_| word(&mut at)).collect();
        let name = String::from_utf8(b[at..at + name_len as usize].to_vec()).unwrap();
        at += name_len as usize;
        let n: i32 = shape.iter().product();
        let values: Vec<f32> = if ttype == 0 {
            b[at..at + 4 * n as usize].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
        } else {
            b[at..at + 2 * n as usize].chunks(2).map(|c| half_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect()
        };
        at += n as usize * if ttype == 0 { 4 } else { 2 };
        tensors.insert(name, (ttype, shape, values));
    }
    (hparams, vocab, tensors)
}

fn half_to_f32(h: u16) -> f32 {
    hearth_models::faster_whisper::half::f16_to_f32(h)
}

#[test]
fn a_small_ct2_model_converts_tensor_by_tensor() {
    for int8 in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (d, layers, vocab) = (16u32, 2u32, 40u32);
        let vars = write_ct2(dir.path(), d, layers, vocab, int8);
        let h = inspect(dir.path()).unwrap();
        assert_eq!((h.n_audio_state, h.n_audio_layer, h.n_text_layer, h.n_audio_head, h.n_mels), (16, 2, 2, 2, 8));
        assert_eq!((h.n_vocab, h.n_audio_ctx, h.n_text_ctx), (40, 12, 6));
        let out = dir.path().join("out/ggml.bin");
        let imported = import(dir.path(), &out).unwrap();
        assert_eq!(imported.vocabulary, 37);
        let (hparams, tokens, tensors) = read_ggml(&out);
        assert_eq!(hparams, vec![40, 12, 16, 2, 2, 6, 16, 2, 2, 8, 1]);
        assert_eq!(tokens[5], b" t5");
        assert_eq!(tensors.len(), imported.tensors);
        assert_eq!(tensors.len(), 5 + 2 * 15 + 2 + 2 + 2 * 24 + 2);

        // (ggml name, CTranslate2 name, first row, rows): the fused projections must be split right.
        let d = d as usize;
        let checks = [
            ("encoder.conv1.weight", "encoder/conv1/weight", 0, d),
            ("encoder.conv1.bias", "encoder/conv1/bias", 0, d),
            ("encoder.positional_embedding", "encoder/position_encodings/encodings", 0, 12),
            ("encoder.blocks.1.attn.query.weight", "encoder/layer_1/self_attention/linear_0/weight", 0, d),
            ("encoder.blocks.1.attn.key.weight", "encoder/layer_1/self_attention/linear_0/weight", d, d),
            ("encoder.blocks.1.attn.value.weight", "encoder/layer_1/self_attention/linear_0/weight", 2 * d, d),
            ("encoder.blocks.1.attn.value.bias", "encoder/layer_1/self_attention/linear_0/bias", 2 * d, d),
            ("encoder.blocks.0.attn.out.weight", "encoder/layer_0/self_attention/linear_1/weight", 0, d),
            ("encoder.blocks.0.mlp.2.weight", "encoder/layer_0/ffn/linear_1/weight", 0, d),
            ("encoder.blocks.0.attn_ln.weight", "encoder/layer_0/self_attention/layer_norm/gamma", 0, d),
            ("encoder.ln_post.bias", "encoder/layer_norm/beta", 0, d),
            ("decoder.token_embedding.weight", "decoder/embeddings/weight", 0, 40),
            ("decoder.blocks.1.cross_attn.query.bias", "decoder/layer_1/attention/linear_0/bias", 0, d),
            ("decoder.blocks.1.cross_attn.key.weight", "decoder/layer_1/attention/linear_1/weight", 0, d),
            ("decoder.blocks.1.cross_attn.value.weight", "decoder/layer_1/attention/linear_1/weight", d, d),
            ("decoder.blocks.1.cross_attn.value.bias", "decoder/layer_1/attention/linear_1/bias", d, d),
            ("decoder.blocks.1.cross_attn.out.weight", "decoder/layer_1/attention/linear_2/weight", 0, d),
            ("decoder.blocks.1.cross_attn_ln.bias", "decoder/layer_1/attention/layer_norm/beta", 0, d),
            ("decoder.blocks.0.mlp_ln.weight", "decoder/layer_0/ffn/layer_norm/gamma", 0, d),
            ("decoder.ln.weight", "decoder/layer_norm/gamma", 0, d),
        ];
        for (ggml, ct2, first, rows) in checks {
            let (ttype, shape, values) = &tensors[ggml];
            let v = &vars[ct2];
            let per_row: usize = v.shape.iter().skip(1).map(|&x| x as usize).product();
            let expected = &v.values[first * per_row..(first + rows) * per_row];
            assert_eq!(values.len(), expected.len(), "{ggml}");
            // f16 keeps 11 significant bits; int8 keeps 1/127 of the row's largest value.
            let tolerance = if v.int8 { 0.75 / 127.0 * 1.01 } else if *ttype == 1 { 1e-3 } else { 0.0 };
            for (a, b) in values.iter().zip(expected) {
                assert!((a - b).abs() <= tolerance, "{ggml} (int8 {int8}): {a} vs {b}");
            }
            let vector_like = ggml.ends_with("bias") || ggml.contains("ln") || ggml.contains("positional");
            assert_eq!(*ttype, if vector_like { 0 } else { 1 }, "{ggml} type");
            if ggml.ends_with("conv1.bias") {
                assert_eq!(shape, &[1, 16]);
            }
            if ggml == "encoder.conv1.weight" {
                assert_eq!(shape, &[3, 8, 16]);
            }
        }
    }
}

#[test]
fn import_says_what_is_wrong_with_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let err = inspect(dir.path()).unwrap_err();
    assert!(matches!(err, ImportError::Io { .. }) && err.to_string().contains("model.bin"), "{err}");
    std::fs::write(dir.path().join("model.bin"), b"not a model").unwrap();
    let err = inspect(dir.path()).unwrap_err().to_string();
    assert!(err.contains("version"), "{err}");
    write_ct2(dir.path(), 8, 1, 10, false);
    std::fs::remove_file(dir.path().join("vocabulary.txt")).unwrap();
    let out = dir.path().join("x.bin");
    let err = import(dir.path(), &out).unwrap_err().to_string();
    assert!(err.contains("vocabulary"), "{err}");
    assert!(!out.exists() && !dir.path().join("x.bin.partial").exists());
    let bytes = std::fs::read(dir.path().join("model.bin")).unwrap();
    std::fs::write(dir.path().join("model.bin"), &bytes[..bytes.len() / 2]).unwrap();
    let err = inspect(dir.path()).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
}

fn real_models() -> Option<PathBuf> {
    let dir = std::env::var_os("HEARTH_REAL_MODELS").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("HEARTH_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/hearth"));
        cache.join("real-models")
    });
    if dir.join("whisper/faster-whisper-tiny.en/model.bin").is_file() {
        return Some(dir);
    }
    let why = std::fs::read_to_string(dir.join("fetch-error.txt")).unwrap_or_else(|_| "not run or not finished".into());
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("real models missing in {} (scripts/fetch-real-models.sh: {})", dir.display(), why.trim());
    }
    println!("skipping: real models missing in {} (scripts/fetch-real-models.sh: {})", dir.display(), why.trim());
    None
}

fn shared_models() -> Option<PathBuf> {
    let root = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let file = root.join("models/for-tests-ggml-tiny.en.bin");
    if file.is_file() {
        return Some(file);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} not found (set HEARTH_SHARED)", file.display());
    }
    println!("skipping: {} not found (set HEARTH_SHARED)", file.display());
    None
}

#[test]
fn real_tiny_en_gets_whisper_cpps_own_header_mel_filters_and_vocabulary() {
    let (Some(real), Some(theirs)) = (real_models(), shared_models()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = real.join("whisper/faster-whisper-tiny.en");
    let h = inspect(&src).unwrap();
    assert_eq!(default_file_name(&h), "ggml-tiny.en.bin");
    let out = dir.path().join("ggml-tiny.en.bin");
    let imported = import(&src, &out).unwrap();
    assert_eq!(imported.source_types, ["F16"]);
    let (ours_bytes, theirs_bytes) = (std::fs::read(&out).unwrap(), std::fs::read(&theirs).unwrap());
    // whisper.cpp's weightless test file was written by its own converter from OpenAI's tiny.en.
    let header_and_mel = 4 + 11 * 4 + 8 + 80 * 201 * 4;
    assert!(ours_bytes[..header_and_mel] == theirs_bytes[..header_and_mel], "hyperparameters and mel filters, bit for bit");
    let (_, ours, tensors) = read_ggml(&out);
    let (_, theirs, _) = read_ggml(&theirs);
    // Theirs comes from the converter's older vocab.json path: <|endoftext|> kept at the end, and
    // tokens that are not UTF-8 on their own written as U+FFFD. Everything else must be identical.
    assert_eq!((ours.len(), theirs.len()), (50256, 50257));
    let mut compared = 0;
    for (id, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        if std::str::from_utf8(a).is_ok() {
            assert_eq!(a, b, "token {id}");
            compared += 1;
        }
    }
    assert!(compared > 49_000, "{compared}");
    assert_eq!(tensors.len(), 167);
    assert_eq!(tensors["decoder.token_embedding.weight"].1, [384, 51864]);

    let base = real.join("whisper/faster-whisper-base");
    let h = inspect(&base).unwrap();
    assert_eq!((default_file_name(&h).as_str(), h.n_vocab, h.n_audio_layer), ("ggml-base.bin", 51865, 6));
}
