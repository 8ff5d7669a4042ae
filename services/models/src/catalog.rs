//! The models Hearth knows, with their public homes.
//!
//! Sizes and sha256 digests below were read from public pins of these exact files (Nix `fetchurl`
//! hashes, which Nix verifies on every fetch, cross-checked across several independent projects) and,
//! for openWakeWord and Silero VAD, computed from the files themselves. Where no trustworthy digest
//! was found the field is `None`: the first download records the digest (trust on first use) and
//! `hearth models list` says so. Never fill one in by guesswork: a wrong digest rejects a good file.

/// One file of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFile {
    /// Where it is downloaded from.
    pub url: String,
    /// Where it goes, relative to the models directory (`/`-separated).
    pub path: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Lower-case hex sha256, when known.
    pub sha256: Option<String>,
}

/// A named model: one or more files pulled and listed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// What `hearth models pull NAME` takes.
    pub name: String,
    /// One line for `list`.
    pub description: String,
    /// Pulled by `hearth models pull` without names.
    pub default: bool,
    /// The licence, in words a user can act on.
    pub licence: String,
    pub files: Vec<ModelFile>,
}

impl Model {
    /// Sum of the known file sizes, and whether every size is known.
    pub fn size(&self) -> (u64, bool) {
        let known = self.files.iter().filter_map(|f| f.size).sum();
        (known, self.files.iter().all(|f| f.size.is_some()))
    }
}

fn file(url: &str, path: &str, size: Option<u64>, sha256: Option<&str>) -> ModelFile {
    ModelFile { url: url.into(), path: path.into(), size, sha256: sha256.map(str::to_owned) }
}

const WHISPER: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";
/// Pinned revisions: a moving `main` could change the bytes under a known digest.
const QWEN: &str = "https://huggingface.co/unsloth/Qwen3-4B-Instruct-2507-GGUF/resolve/a06e946bb6b655725eafa393f4a9745d460374c9";
const PIPER: &str = "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/lessac/medium";
const OWW: &str = "https://github.com/dscripka/openWakeWord/releases/download/v0.5.1";
/// Not pinned to a revision (none verified from here); the digests are recorded on first download.
const SMOLVLM: &str = "https://huggingface.co/ggml-org/SmolVLM-256M-Instruct-GGUF/resolve/main";
const SILERO: &str = "https://raw.githubusercontent.com/snakers4/silero-vad/v6.2.1/src/silero_vad/data";

const OWW_LICENCE: &str = "openWakeWord's code is Apache-2.0, but its README puts all its pre-trained models under \
CC BY-NC-SA 4.0 (non-commercial, share-alike; the embedding model derives from Google's Apache-2.0 \
speech_embedding). Fine for your own home; not for commercial use or redistribution.";

/// The catalog, in the order `list` shows it.
pub fn catalog() -> Vec<Model> {
    vec![
        Model {
            name: "whisper-tiny.en".into(),
            description: "Speech recognition, English, fastest (whisper.cpp ggml)".into(),
            default: true,
            licence: "MIT (OpenAI Whisper weights, converted by whisper.cpp)".into(),
            files: vec![file(
                &format!("{WHISPER}/ggml-tiny.en.bin"),
                "whisper/ggml-tiny.en.bin",
                Some(77_704_715),
                Some("921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f"),
            )],
        },
        Model {
            name: "whisper-base.en".into(),
            description: "Speech recognition, English, more accurate (whisper.cpp ggml)".into(),
            default: true,
            licence: "MIT (OpenAI Whisper weights, converted by whisper.cpp)".into(),
            files: vec![file(
                &format!("{WHISPER}/ggml-base.en.bin"),
                "whisper/ggml-base.en.bin",
                Some(147_964_211),
                Some("a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002"),
            )],
        },
        Model {
            name: "qwen3-4b-instruct".into(),
            description: "Language model: Qwen3-4B-Instruct-2507, Q4_K_M GGUF (unsloth quantisation)".into(),
            default: true,
            licence: "Apache-2.0 (Qwen3-4B-Instruct-2507 by the Qwen team; quantised by unsloth)".into(),
            files: vec![file(
                &format!("{QWEN}/Qwen3-4B-Instruct-2507-Q4_K_M.gguf"),
                "llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf",
                Some(2_497_281_120),
                Some("3605803b982cb64aead44f6c1b2ae36e3acdb41d8e46c8a94c6533bc4c67e597"),
            )],
        },
        Model {
            name: "smolvlm-256m".into(),
            description: "Vision (\"what do you see?\"): SmolVLM-256M-Instruct, Q8_0 GGUF and its projector (optional)".into(),
            default: false,
            licence: "Apache-2.0 (SmolVLM-256M-Instruct by Hugging Face; GGUF conversion by ggml-org)".into(),
            files: vec![
                file(&format!("{SMOLVLM}/SmolVLM-256M-Instruct-Q8_0.gguf"), "vision/SmolVLM-256M-Instruct-Q8_0.gguf", None, None),
                file(&format!("{SMOLVLM}/mmproj-SmolVLM-256M-Instruct-Q8_0.gguf"), "vision/mmproj-SmolVLM-256M-Instruct-Q8_0.gguf", None, None),
            ],
        },
        Model {
            name: "piper-en_US-lessac-medium".into(),
            description: "Text to speech: Piper voice en_US lessac, medium quality (22.05 kHz)".into(),
            default: true,
            licence: "Piper voice (rhasspy/piper-voices, MIT). Trained on the Lessac voice of the Blizzard 2011 \
                      dataset, whose own licence applies: \
                      https://www.cstr.ed.ac.uk/projects/blizzard/2011/lessac_blizzard2011/license.html \
                      (read it before any commercial use)."
                .into(),
            files: vec![
                file(
                    &format!("{PIPER}/en_US-lessac-medium.onnx"),
                    "piper/en_US-lessac-medium.onnx",
                    Some(63_201_294),
                    Some("5efe09e69902187827af646e1a6e9d269dee769f9877d17b16b1b46eeaaf019f"),
                ),
                // Published sizes of this JSON disagree (4885 vs 4889 bytes); the digest is consistent.
                file(
                    &format!("{PIPER}/en_US-lessac-medium.onnx.json"),
                    "piper/en_US-lessac-medium.onnx.json",
                    None,
                    Some("efe19c417bed055f2d69908248c6ba650fa135bc868b0e6abb3da181dab690a0"),
                ),
            ],
        },
        Model {
            name: "openwakeword".into(),
            description: "Wake word front end: openWakeWord melspectrogram and speech embedding (v0.5.1)".into(),
            default: true,
            licence: OWW_LICENCE.into(),
            files: vec![
                file(
                    &format!("{OWW}/melspectrogram.onnx"),
                    "openwakeword/melspectrogram.onnx",
                    Some(1_087_958),
                    Some("ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"),
                ),
                file(
                    &format!("{OWW}/embedding_model.onnx"),
                    "openwakeword/embedding_model.onnx",
                    Some(1_326_578),
                    Some("70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f"),
                ),
            ],
        },
        Model {
            name: "openwakeword-words".into(),
            description: "Pretrained wake words: hey jarvis, alexa, hey mycroft (optional, non-commercial)".into(),
            default: false,
            licence: "CC BY-NC-SA 4.0 (non-commercial, share-alike): openWakeWord's pre-trained models. \
                      Fine for your own home; not for commercial use or redistribution."
                .into(),
            files: vec![
                file(
                    &format!("{OWW}/hey_jarvis_v0.1.onnx"),
                    "openwakeword/hey_jarvis_v0.1.onnx",
                    Some(1_271_370),
                    Some("94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb"),
                ),
                file(
                    &format!("{OWW}/alexa_v0.1.onnx"),
                    "openwakeword/alexa_v0.1.onnx",
                    Some(854_246),
                    Some("6ff566a01d12670e8d9e3c59da32651db1575d17272a601b7f8a39283dfbae3e"),
                ),
                file(
                    &format!("{OWW}/hey_mycroft_v0.1.onnx"),
                    "openwakeword/hey_mycroft_v0.1.onnx",
                    Some(857_691),
                    Some("c2a311e8fa1338de89c31b3b46dc4dffd4af2f9a8d6ddead48893c2d301b1f18"),
                ),
            ],
        },
        Model {
            name: "silero-vad".into(),
            description: "Voice activity detection: Silero VAD v6.2.1 (ONNX, 8 and 16 kHz)".into(),
            default: true,
            licence: "MIT (snakers4/silero-vad)".into(),
            files: vec![file(
                &format!("{SILERO}/silero_vad.onnx"),
                "silero-vad/silero_vad.onnx",
                Some(2_327_524),
                Some("1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"),
            )],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_well_formed() {
        let models = catalog();
        let mut names: Vec<_> = models.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), models.len(), "names are unique");
        let mut paths: Vec<_> = models.iter().flat_map(|m| m.files.iter().map(|f| f.path.as_str())).collect();
        let n = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), n, "destinations are unique");
        for m in &models {
            assert!(!m.files.is_empty() && !m.licence.is_empty(), "{}", m.name);
            for f in &m.files {
                assert!(f.url.starts_with("https://"), "{}", f.url);
                assert!(!f.path.starts_with('/') && !f.path.split('/').any(|p| p == ".." || p.is_empty()), "{}", f.path);
                if let Some(h) = &f.sha256 {
                    assert!(h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{h}");
                }
            }
        }
        assert!(!models.iter().find(|m| m.name == "openwakeword-words").unwrap().default);
    }
}
