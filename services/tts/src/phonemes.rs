//! A Piper voice's `.onnx.json` and the text → phoneme ids step, exactly as piper-tts does it
//! (`phonemize_espeak.py`, `phoneme_ids.py`): clause phonemes with language switches removed, the clause
//! terminator kept as a "phoneme" (plus a space after `, : ;`), NFD-decomposed into code points, known
//! vowel clusters merged, one id list per sentence: `^ _ p1 _ p2 _ … $`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use tracing::warn;
use unicode_normalization::UnicodeNormalization;

use crate::espeak::{Clause, Espeak};
use crate::TtsError;

const PAD: &str = "_";
const BOS: &str = "^";
const EOS: &str = "$";

#[derive(Debug, Clone, Deserialize)]
struct RawConfig {
    audio: RawAudio,
    #[serde(default)]
    espeak: Option<RawEspeak>,
    #[serde(default)]
    inference: RawInference,
    num_symbols: usize,
    #[serde(default = "one")]
    num_speakers: usize,
    #[serde(default)]
    speaker_id_map: BTreeMap<String, i64>,
    phoneme_id_map: BTreeMap<String, Vec<i64>>,
    #[serde(default)]
    phoneme_type: Option<String>,
    #[serde(default)]
    vowel_clusters: Vec<Vec<String>>,
    #[serde(default)]
    default_speaker_id: i64,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Deserialize)]
struct RawAudio {
    sample_rate: u32,
}

#[derive(Debug, Clone, Deserialize)]
struct RawEspeak {
    voice: String,
}

#[derive(Debug, Clone, Deserialize)]
struct RawInference {
    #[serde(default = "d_noise")]
    noise_scale: f32,
    #[serde(default = "d_length")]
    length_scale: f32,
    #[serde(default = "d_noise_w")]
    noise_w: f32,
}

fn d_noise() -> f32 {
    0.667
}
fn d_length() -> f32 {
    1.0
}
fn d_noise_w() -> f32 {
    0.8
}

impl Default for RawInference {
    fn default() -> Self {
        Self { noise_scale: d_noise(), length_scale: d_length(), noise_w: d_noise_w() }
    }
}

/// How a voice turns text into phonemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhonemeType {
    /// espeak-ng IPA (nearly every Piper voice).
    Espeak,
    /// The text's own code points (NFD).
    Text,
}

/// The parts of a Piper `.onnx.json` that synthesis needs, validated.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// Output sample rate, Hertz.
    pub sample_rate_hz: u32,
    /// espeak-ng voice for phonemes, e.g. `en-us`.
    pub espeak_voice: String,
    pub phoneme_type: PhonemeType,
    pub num_symbols: usize,
    pub num_speakers: usize,
    pub speaker_id_map: BTreeMap<String, i64>,
    pub default_speaker_id: i64,
    pub phoneme_id_map: BTreeMap<String, Vec<i64>>,
    /// Vowel sequences merged into one phoneme before mapping to ids.
    pub vowel_clusters: HashSet<Vec<String>>,
    /// Generator noise.
    pub noise_scale: f32,
    /// Phoneme duration factor (> 1 is slower).
    pub length_scale: f32,
    /// Phoneme width noise.
    pub noise_w: f32,
}

impl VoiceConfig {
    pub fn from_file(path: &Path) -> Result<VoiceConfig, TtsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TtsError::Voice(format!("cannot read voice config {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|why| TtsError::Voice(format!("voice config {}: {why}", path.display())))
    }

    pub fn parse(json: &str) -> Result<VoiceConfig, String> {
        let raw: RawConfig = serde_json::from_str(json).map_err(|e| format!("not a Piper voice config: {e}"))?;
        let phoneme_type = match raw.phoneme_type.as_deref() {
            None | Some("espeak") => PhonemeType::Espeak,
            Some("text") => PhonemeType::Text,
            Some(other) => return Err(format!("phoneme_type {other:?} is not supported (espeak or text)")),
        };
        let espeak_voice = match (&raw.espeak, phoneme_type) {
            (Some(e), _) if !e.voice.trim().is_empty() => e.voice.clone(),
            (_, PhonemeType::Text) => String::new(),
            _ => return Err("espeak.voice is missing".into()),
        };
        if !(8_000..=96_000).contains(&raw.audio.sample_rate) {
            return Err(format!("audio.sample_rate {} is not a plausible rate", raw.audio.sample_rate));
        }
        for key in [PAD, BOS, EOS] {
            if raw.phoneme_id_map.get(key).is_none_or(|ids| ids.is_empty()) {
                return Err(format!("phoneme_id_map has no {key:?}"));
            }
        }
        for (phoneme, ids) in &raw.phoneme_id_map {
            if let Some(bad) = ids.iter().find(|&&id| id < 0 || id as usize >= raw.num_symbols) {
                return Err(format!("phoneme_id_map[{phoneme:?}] = {bad} is outside 0..num_symbols ({})", raw.num_symbols));
            }
        }
        if raw.num_speakers == 0 {
            return Err("num_speakers must be at least 1".into());
        }
        let i = &raw.inference;
        for (name, v) in [("noise_scale", i.noise_scale), ("length_scale", i.length_scale), ("noise_w", i.noise_w)] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("inference.{name} = {v} must be a non-negative number"));
            }
        }
        Ok(VoiceConfig {
            sample_rate_hz: raw.audio.sample_rate,
            espeak_voice,
            phoneme_type,
            num_symbols: raw.num_symbols,
            num_speakers: raw.num_speakers,
            speaker_id_map: raw.speaker_id_map,
            default_speaker_id: raw.default_speaker_id,
            phoneme_id_map: raw.phoneme_id_map,
            vowel_clusters: raw.vowel_clusters.into_iter().filter(|c| c.len() > 1).collect(),
            noise_scale: i.noise_scale,
            length_scale: i.length_scale,
            noise_w: i.noise_w,
        })
    }

    /// Text to phonemes, one list per sentence (piper-tts `PiperVoice.phonemize`).
    pub fn phonemize(&self, espeak: &Espeak, text: &str) -> Result<Vec<Vec<String>>, TtsError> {
        match self.phoneme_type {
            PhonemeType::Text => Ok(vec![text.nfd().map(String::from).collect()]),
            PhonemeType::Espeak => {
                let clauses = espeak.clauses(&self.espeak_voice, text)?;
                Ok(sentences_from_clauses(&clauses, &self.vowel_clusters))
            }
        }
    }

    /// One sentence's phonemes to ids (piper-tts `phonemes_to_ids`); unknown phonemes are skipped.
    pub fn phonemes_to_ids(&self, phonemes: &[String]) -> Vec<i64> {
        let map = &self.phoneme_id_map;
        let pad = &map[PAD];
        let mut ids = map[BOS].clone();
        ids.extend(pad);
        for p in phonemes {
            match map.get(p) {
                Some(p_ids) => {
                    ids.extend(p_ids);
                    ids.extend(pad);
                }
                None => warn!(phoneme = %p, "phoneme missing from the voice's id map, skipped"),
            }
        }
        ids.extend(&map[EOS]);
        ids
    }

    /// Text to ids, one list per non-empty sentence.
    pub fn text_to_ids(&self, espeak: &Espeak, text: &str) -> Result<Vec<Vec<i64>>, TtsError> {
        Ok(self.phonemize(espeak, text)?.iter().filter(|s| !s.is_empty()).map(|s| self.phonemes_to_ids(s)).collect())
    }

    /// The id of a speaker given by name (from `speaker_id_map`) or number.
    pub fn speaker_id(&self, speaker: &str) -> Result<i64, String> {
        if let Some(&id) = self.speaker_id_map.get(speaker) {
            return Ok(id);
        }
        match speaker.parse::<i64>() {
            Ok(id) if id >= 0 && (id as usize) < self.num_speakers => Ok(id),
            _ => {
                let names: Vec<&str> = self.speaker_id_map.keys().map(String::as_str).take(10).collect();
                Err(format!("unknown speaker {speaker:?} (voice has {} speakers: {names:?}…)", self.num_speakers))
            }
        }
    }
}

/// Groups espeak clauses into sentences of single-code-point phonemes (piper-tts `EspeakPhonemizer`).
pub fn sentences_from_clauses(clauses: &[Clause], clusters: &HashSet<Vec<String>>) -> Vec<Vec<String>> {
    let mut sentences = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for clause in clauses {
        let mut s = remove_language_flags(&clause.phonemes);
        s.push_str(clause.terminator);
        if matches!(clause.terminator, "," | ":" | ";") {
            s.push(' ');
        }
        current.extend(s.nfd().map(String::from));
        if clause.end_of_sentence {
            sentences.push(merge_clusters(std::mem::take(&mut current), clusters));
        }
    }
    if !current.is_empty() {
        sentences.push(merge_clusters(current, clusters));
    }
    if sentences.last().is_some_and(Vec::is_empty) {
        sentences.pop();
    }
    sentences
}

/// Removes `(lang)` switch flags, as `re.sub(r"\([^)]+\)", "", s)` does.
fn remove_language_flags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        match after.find(')') {
            Some(close) if close > 0 => {
                out.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn merge_clusters(phones: Vec<String>, clusters: &HashSet<Vec<String>>) -> Vec<String> {
    let Some(max_len) = clusters.iter().map(Vec::len).max() else { return phones };
    let mut out = Vec::with_capacity(phones.len());
    let mut i = 0;
    while i < phones.len() {
        let longest = (2..=max_len.min(phones.len() - i)).rev().find(|&n| clusters.contains(&phones[i..i + n].to_vec()));
        match longest {
            Some(n) => {
                out.push(phones[i..i + n].concat());
                i += n;
            }
            None => {
                out.push(phones[i].clone());
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(p: &str, t: &'static str, eos: bool) -> Clause {
        Clause { phonemes: p.into(), terminator: t, end_of_sentence: eos }
    }

    #[test]
    fn clauses_group_into_sentences_like_piper() {
        let c = [clause("həlˈoʊ", ",", false), clause("wˈɜːld", ".", true), clause("(fr)bɔ̃(en)ʒuːɹ", "", true)];
        let s = sentences_from_clauses(&c, &HashSet::new());
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].concat(), "həlˈoʊ, wˈɜːld.");
        assert_eq!(s[0][6], ",");
        assert_eq!(s[0][7], " ");
        // NFD splits the nasal vowel into two code points; the flags are gone.
        assert_eq!(s[1].concat(), "bɔ̃ʒuːɹ".nfd().collect::<String>());
        assert!(s[1].contains(&"\u{303}".to_string()));
    }

    #[test]
    fn flags_and_clusters() {
        assert_eq!(remove_language_flags("a(en)b()c(d"), "ab()c(d");
        let clusters: HashSet<Vec<String>> = [vec!["a".into(), "ɪ".into()]].into_iter().collect();
        let merged = merge_clusters(["h", "a", "ɪ", "a"].map(String::from).to_vec(), &clusters);
        assert_eq!(merged, ["h", "aɪ", "a"].map(String::from).to_vec());
    }

    #[test]
    fn ids_pad_between_phonemes() {
        let json = r#"{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"num_symbols":10,"num_speakers":1,
            "phoneme_id_map":{"_":[0],"^":[1],"$":[2],"a":[5],"b":[6,7]}}"#;
        let cfg = VoiceConfig::parse(json).unwrap();
        let ids = cfg.phonemes_to_ids(&["a", "x", "b"].map(String::from));
        assert_eq!(ids, vec![1, 0, 5, 0, 6, 7, 0, 2]);
        assert_eq!(cfg.length_scale, 1.0);
    }

    #[test]
    fn corrupt_configs_are_errors() {
        assert!(VoiceConfig::parse("{").is_err());
        assert!(VoiceConfig::parse(r#"{"audio":{"sample_rate":22050}}"#).is_err());
        let no_pad = r#"{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"num_symbols":3,"phoneme_id_map":{"^":[1],"$":[2]}}"#;
        assert!(VoiceConfig::parse(no_pad).unwrap_err().contains("\"_\""));
        let out_of_range = r#"{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"num_symbols":3,"phoneme_id_map":{"_":[0],"^":[1],"$":[9]}}"#;
        assert!(VoiceConfig::parse(out_of_range).unwrap_err().contains("num_symbols"));
    }
}
