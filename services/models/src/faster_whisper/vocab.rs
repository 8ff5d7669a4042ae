//! The text tokens of a faster-whisper directory, as the raw bytes whisper.cpp's vocabulary holds.
//!
//! CTranslate2 keeps GPT-2's byte-level spelling (every byte mapped to a printable character: a space
//! is `Ġ`, a newline `Ċ`) in `vocabulary.json` (a JSON list, newer converters), `vocabulary.txt` (one
//! token per line, older ones) or only in `tokenizer.json`. whisper.cpp wants the plain bytes of the
//! ordinary tokens, the ones before `<|endoftext|>`, and numbers the special tokens itself, so the
//! table is cut there (as whisper.cpp's own converter does with OpenAI's tiktoken files).

use std::collections::HashMap;
use std::path::Path;

use super::ImportError;

const END_OF_TEXT: &str = "<|endoftext|>";

/// Ordinary tokens of the model in `dir`, by id, as bytes.
pub fn read(dir: &Path) -> Result<Vec<Vec<u8>>, ImportError> {
    let spelled = spelled_tokens(dir)?;
    let end = spelled.iter().position(|t| t == END_OF_TEXT).ok_or_else(|| ImportError::Format {
        path: dir.into(),
        why: format!("the vocabulary has no {END_OF_TEXT} token (not a whisper vocabulary?)"),
    })?;
    let decoder = byte_decoder();
    spelled[..end]
        .iter()
        .enumerate()
        .map(|(id, token)| {
            token.chars().map(|c| decoder.get(&c).copied()).collect::<Option<Vec<u8>>>().ok_or_else(|| ImportError::Format {
                path: dir.into(),
                why: format!("token {id} ({token:?}) is not in GPT-2's byte-level alphabet"),
            })
        })
        .collect()
}

/// Every token as spelled in the directory's vocabulary file, by id.
fn spelled_tokens(dir: &Path) -> Result<Vec<String>, ImportError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| ImportError::Io { path, source })
    };
    let bad = |name: &str, why: String| ImportError::Format { path: dir.join(name), why };
    if dir.join("vocabulary.json").is_file() {
        return serde_json::from_str(&read("vocabulary.json")?).map_err(|e| bad("vocabulary.json", e.to_string()));
    }
    if dir.join("vocabulary.txt").is_file() {
        let text = read("vocabulary.txt")?;
        // One token per line; the byte-level alphabet has no line breaks, so only '\n' separates.
        let mut tokens: Vec<String> = text.split('\n').map(str::to_owned).collect();
        if tokens.last().is_some_and(String::is_empty) {
            tokens.pop();
        }
        return Ok(tokens);
    }
    if dir.join("tokenizer.json").is_file() {
        let json: serde_json::Value =
            serde_json::from_str(&read("tokenizer.json")?).map_err(|e| bad("tokenizer.json", e.to_string()))?;
        let mut by_id: HashMap<u64, String> = HashMap::new();
        let vocab = json["model"]["vocab"].as_object().ok_or_else(|| bad("tokenizer.json", "no model.vocab table".into()))?;
        for (token, id) in vocab {
            by_id.insert(id.as_u64().unwrap_or(u64::MAX), token.clone());
        }
        for added in json["added_tokens"].as_array().into_iter().flatten() {
            if let (Some(id), Some(content)) = (added["id"].as_u64(), added["content"].as_str()) {
                by_id.insert(id, content.to_owned());
            }
        }
        let n = by_id.keys().filter(|&&id| id != u64::MAX).max().map_or(0, |m| m + 1);
        return Ok((0..n).map(|id| by_id.remove(&id).unwrap_or_default()).collect());
    }
    Err(ImportError::Format {
        path: dir.into(),
        why: "no vocabulary.json, vocabulary.txt or tokenizer.json: not a faster-whisper model directory".into(),
    })
}

/// GPT-2's byte-level alphabet reversed: printable bytes stand for themselves, the other 68 bytes were
/// moved, in order, to U+0100 onwards.
fn byte_decoder() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xa1..=0xac | 0xae..=0xff);
    let mut moved = 0u32;
    (0..=255u8)
        .map(|b| {
            if printable(b) {
                (char::from(b), b)
            } else {
                moved += 1;
                (char::from_u32(0x100 + moved - 1).expect("below U+0200"), b)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_spelling_decodes_to_bytes() {
        let d = byte_decoder();
        assert_eq!(d.len(), 256);
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'Ċ'], b'\n');
        assert_eq!(d[&'a'], b'a');
        assert_eq!(d[&'Ā'], 0);
    }

    #[test]
    fn vocabulary_files_are_cut_at_end_of_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vocabulary.txt"), "!\nĠthe\nÃ©\n\n<|endoftext|>\n<|startoftranscript|>\n").unwrap();
        let v = read(dir.path()).unwrap();
        assert_eq!(v, vec![b"!".to_vec(), b" the".to_vec(), "é".as_bytes().to_vec(), Vec::new()]);
        std::fs::write(dir.path().join("vocabulary.json"), r#"["a","Ġb","<|endoftext|>"]"#).unwrap();
        assert_eq!(read(dir.path()).unwrap(), vec![b"a".to_vec(), b" b".to_vec()]);
        std::fs::write(dir.path().join("vocabulary.json"), r#"["a"]"#).unwrap();
        assert!(read(dir.path()).unwrap_err().to_string().contains("endoftext"));
    }
}
