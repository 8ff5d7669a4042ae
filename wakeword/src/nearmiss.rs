//! Near-miss phrases: what a wake word model must learn *not* to fire on. The seed's model fired on
//! "ok" alone until near-misses spoken by the same voices as the positives made the second word the
//! only thing that separates the classes.
//!
//! From the phrase's words and their espeak-ng phonemes this proposes, in order:
//! - each word alone, and words that sound the same ("okay" for "ok");
//! - the leading words without the last one (for phrases of three or more words);
//! - the phrase with one word swapped for a common word ("ok google", "hey computer");
//! - one-phoneme edits turned back into words from a built-in word list ("ok commuter");
//! - rhymes: the same sounds from the last stressed vowel on ("ok scooter").
//!
//! A candidate that sounds exactly like the phrase ("okay computer") is not a near-miss and is left out.

use std::collections::{BTreeSet, HashMap};

use hearth_tts::espeak::Espeak;

use crate::WakewordError;

/// The espeak-ng voice whose phonemes the comparisons use.
const PHONEME_VOICE: &str = "en-us";
/// English words (lowercase, 2 to 10 letters) that phoneme edits and rhymes may turn into.
const WORD_LIST: &str = include_str!("words.txt");
/// Common words that replace one word of the phrase: the shortcut a model takes when it keys on the
/// other words must stop working.
const SWAP_WORDS: &[&str] =
    &["hey", "hi", "oh", "ok", "so", "my", "the", "cool", "google", "please", "there", "now", "music", "come", "go"];

/// Why a near-miss was proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum NearMissKind {
    /// One word of the phrase alone, or a word that sounds the same.
    WordAlone,
    /// The phrase without its last word.
    Prefix,
    /// One word swapped for a common word.
    Swapped,
    /// One word replaced by a word one phoneme away.
    PhonemeEdit,
    /// One word replaced by a rhyme.
    Rhyme,
    /// Recorded by the user.
    Recorded,
}

/// One near-miss phrase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NearMiss {
    pub text: String,
    pub kind: NearMissKind,
}

/// How many of each kind to propose at most.
#[derive(Debug, Clone)]
pub struct NearMissLimits {
    pub per_word_edits: usize,
    pub per_word_rhymes: usize,
    pub per_word_swaps: usize,
}

impl Default for NearMissLimits {
    fn default() -> Self {
        NearMissLimits { per_word_edits: 6, per_word_rhymes: 4, per_word_swaps: 3 }
    }
}

/// The words of a phrase: lowercase, letters, digits and apostrophes only. Fails on an empty phrase.
pub fn phrase_words(phrase: &str) -> Result<Vec<String>, WakewordError> {
    let words: Vec<String> = phrase
        .split(|c: char| c.is_whitespace() || c == '-' || c == ',')
        .map(|w| w.chars().filter(|c| c.is_alphanumeric() || *c == '\'').collect::<String>().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err(WakewordError::BadPhrase(format!("{phrase:?} has no words; give the wake phrase, e.g. \"ok computer\"")));
    }
    Ok(words)
}

/// A phrase as a file-name-safe model name: `ok computer` → `ok_computer`.
pub fn model_name(phrase: &str) -> Result<String, WakewordError> {
    Ok(phrase_words(phrase)?.join("_").replace('\'', ""))
}

/// Phoneme units of an espeak-ng IPA string: stress marks dropped, length marks kept with their vowel,
/// diphthongs and affricates as one unit, so "one phoneme" means one sound.
pub fn phoneme_units(ipa: &str) -> Vec<String> {
    const PAIRS: &[&str] = &["aɪ", "aʊ", "eɪ", "oʊ", "ɔɪ", "dʒ", "tʃ", "ɪə", "eə", "ʊə"];
    let chars: Vec<char> = ipa.chars().filter(|c| !matches!(c, 'ˈ' | 'ˌ' | ' ' | '-' | '_')).collect();
    let mut units: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, 'ː' | 'ʲ' | '̃' | '̩') {
            if let Some(last) = units.last_mut() {
                last.push(c);
            }
            i += 1;
            continue;
        }
        if i + 1 < chars.len() {
            let pair: String = [c, chars[i + 1]].iter().collect();
            if PAIRS.contains(&pair.as_str()) {
                units.push(pair);
                i += 2;
                continue;
            }
        }
        units.push(c.to_string());
        i += 1;
    }
    units
}

/// Levenshtein distance over phoneme units.
pub fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(x != y);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The rhyme of a word: its sounds from the last stressed vowel on (the last vowel when none is stressed).
pub fn rhyme_part(ipa: &str) -> Vec<String> {
    let last_stress = ipa.rfind(['ˈ', 'ˌ']);
    let tail = match last_stress {
        Some(i) => &ipa[i..],
        None => ipa,
    };
    let units = phoneme_units(tail);
    let first_vowel = units.iter().position(|u| is_vowel(u)).unwrap_or(0);
    units[first_vowel..].to_vec()
}

fn is_vowel(unit: &str) -> bool {
    unit.chars().next().is_some_and(|c| "aeiouæɑɒɔəɛɜɚɝɪʊʌɐᵻy".contains(c))
}

/// Phonemes of words, looked up through espeak-ng.
pub struct Phonemizer {
    espeak: Espeak,
    cache: HashMap<String, String>,
}

impl Phonemizer {
    pub fn new() -> Result<Self, WakewordError> {
        Ok(Phonemizer { espeak: Espeak::global(None)?, cache: HashMap::new() })
    }

    /// IPA of each word (stress marks kept), in order. Words go to espeak-ng in batches, one clause each.
    pub fn ipa(&mut self, words: &[&str]) -> Result<Vec<String>, WakewordError> {
        let missing: Vec<&str> =
            words.iter().copied().filter(|w| !self.cache.contains_key(*w)).collect::<BTreeSet<_>>().into_iter().collect();
        for batch in missing.chunks(400) {
            let text = batch.join(", ");
            let clauses = self.espeak.clauses(PHONEME_VOICE, &text)?;
            if clauses.len() == batch.len() {
                for (w, c) in batch.iter().zip(clauses) {
                    self.cache.insert(w.to_string(), c.phonemes.trim().to_string());
                }
            } else {
                // espeak read the batch differently (a word split in two); fall back to one at a time.
                for w in batch {
                    let ipa: Vec<String> = self.espeak.clauses(PHONEME_VOICE, w)?.into_iter().map(|c| c.phonemes).collect();
                    self.cache.insert(w.to_string(), ipa.join(" ").trim().to_string());
                }
            }
        }
        Ok(words.iter().map(|w| self.cache[*w].clone()).collect())
    }
}

/// Near-miss phrases for `phrase`, deduplicated, in the order of [`NearMissKind`].
pub fn near_misses(phrase: &str, limits: &NearMissLimits) -> Result<Vec<NearMiss>, WakewordError> {
    let words = phrase_words(phrase)?;
    let mut phonemizer = Phonemizer::new()?;
    let word_refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let word_ipa = phonemizer.ipa(&word_refs)?;
    let word_units: Vec<Vec<String>> = word_ipa.iter().map(|p| phoneme_units(p)).collect();
    let phrase_units: Vec<String> = word_units.concat();

    // Candidate words near in length to some phrase word: a one-phoneme edit or a rhyme is rarely
    // more than three letters longer or shorter, and this keeps the espeak-ng lookups to thousands.
    let lexicon: Vec<&str> = WORD_LIST
        .lines()
        .map(str::trim)
        .filter(|w| !w.is_empty() && words.iter().any(|p| w.len().abs_diff(p.len()) <= 3 && shares_edge(w, p)))
        .collect();
    let lexicon_ipa = phonemizer.ipa(&lexicon)?;
    let lexicon_units: Vec<Vec<String>> = lexicon_ipa.iter().map(|p| phoneme_units(p)).collect();

    let mut out = Collector::new(&words, &phrase_units);
    let replace = |i: usize, with: &str| -> Vec<String> {
        let mut w = words.clone();
        w[i] = with.to_string();
        w
    };

    // Each word alone, and its homophones alone.
    if words.len() > 1 {
        for (i, w) in words.iter().enumerate() {
            out.push(vec![w.clone()], vec![word_units[i].clone()], NearMissKind::WordAlone);
            for (j, cand) in lexicon.iter().enumerate() {
                if lexicon_units[j] == word_units[i] && *cand != w {
                    out.push(vec![cand.to_string()], vec![lexicon_units[j].clone()], NearMissKind::WordAlone);
                }
            }
        }
    }
    if words.len() > 2 {
        let n = words.len() - 1;
        out.push(words[..n].to_vec(), word_units[..n].to_vec(), NearMissKind::Prefix);
    }
    // One word swapped for a common word.
    let swap_ipa = phonemizer.ipa(SWAP_WORDS)?;
    for i in 0..words.len() {
        let mut taken = 0;
        for (k, s) in SWAP_WORDS.iter().enumerate() {
            if taken >= limits.per_word_swaps {
                break;
            }
            let units = phoneme_units(&swap_ipa[k]);
            if edit_distance(&units, &word_units[i]) <= 1 {
                continue; // that is a phoneme edit, not a swap
            }
            let mut all = word_units.clone();
            all[i] = units;
            if out.push(replace(i, s), all, NearMissKind::Swapped) {
                taken += 1;
            }
        }
    }
    // One-phoneme edits, closest spelling first so real relatives ("commuter") come before oddities.
    for i in 0..words.len() {
        let mut edits: Vec<(usize, &str)> = lexicon
            .iter()
            .enumerate()
            .filter(|(j, _)| edit_distance(&lexicon_units[*j], &word_units[i]) == 1)
            .map(|(j, w)| (j, *w))
            .collect();
        edits.sort_by_key(|(_, w)| (letter_distance(w, &words[i]), w.len()));
        let mut taken = 0;
        for (j, w) in edits {
            if taken >= limits.per_word_edits {
                break;
            }
            let mut all = word_units.clone();
            all[i] = lexicon_units[j].clone();
            if out.push(replace(i, w), all, NearMissKind::PhonemeEdit) {
                taken += 1;
            }
        }
    }
    // Rhymes: same sounds from the last stressed vowel, a different onset.
    for i in 0..words.len() {
        let rhyme = rhyme_part(&word_ipa[i]);
        if rhyme.is_empty() {
            continue;
        }
        let mut rhymes: Vec<(usize, &str)> = lexicon
            .iter()
            .enumerate()
            .filter(|(j, _)| rhyme_part(&lexicon_ipa[*j]) == rhyme && lexicon_units[*j] != word_units[i])
            .map(|(j, w)| (j, *w))
            .collect();
        rhymes.sort_by_key(|(j, w)| (lexicon_units[*j].len().abs_diff(word_units[i].len()), w.len()));
        let mut taken = 0;
        for (j, w) in rhymes {
            if taken >= limits.per_word_rhymes {
                break;
            }
            let mut all = word_units.clone();
            all[i] = lexicon_units[j].clone();
            if out.push(replace(i, w), all, NearMissKind::Rhyme) {
                taken += 1;
            }
        }
    }
    Ok(out.found)
}

/// Whether two words share their first or their last two letters (a cheap pre-filter for sound-alikes).
fn shares_edge(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = 2.min(a.len()).min(b.len());
    n > 0 && (a[..n] == b[..n] || a[a.len() - n..] == b[b.len() - n..] || a.len() <= 4 || b.len() <= 3)
}

fn letter_distance(a: &str, b: &str) -> usize {
    let a: Vec<String> = a.chars().map(String::from).collect();
    let b: Vec<String> = b.chars().map(String::from).collect();
    edit_distance(&a, &b)
}

/// Near-misses found so far, without duplicates or anything that sounds like the phrase itself.
struct Collector {
    phrase_units: Vec<String>,
    seen: BTreeSet<String>,
    found: Vec<NearMiss>,
}

impl Collector {
    fn new(words: &[String], phrase_units: &[String]) -> Self {
        Collector { phrase_units: phrase_units.to_vec(), seen: BTreeSet::from([words.join(" ")]), found: Vec::new() }
    }

    /// Adds `words` unless seen or a homophone of the phrase; whether it was added.
    fn push(&mut self, words: Vec<String>, units: Vec<Vec<String>>, kind: NearMissKind) -> bool {
        let text = words.join(" ");
        if units.concat() == self.phrase_units || !self.seen.insert(text.clone()) {
            return false;
        }
        self.found.push(NearMiss { text, kind });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<String> {
        phoneme_units(s)
    }

    #[test]
    fn units_and_distances() {
        assert_eq!(units("ˌoʊkˈeɪ"), ["oʊ", "k", "eɪ"]);
        assert_eq!(units("kəmpjˈuːɾɚ"), ["k", "ə", "m", "p", "j", "uː", "ɾ", "ɚ"]);
        assert_eq!(edit_distance(&units("kəmpjˈuːɾɚ"), &units("kəmjˈuːɾɚ")), 1);
        assert_eq!(edit_distance(&units("ˌoʊkˈeɪ"), &units("oʊkˈeɪ")), 0);
        assert_eq!(edit_distance(&units("abc"), &units("")), 3);
        assert_eq!(rhyme_part("kəmpjˈuːɾɚ"), ["uː", "ɾ", "ɚ"]);
    }

    #[test]
    fn phrase_words_and_model_names() {
        assert_eq!(phrase_words("  OK, Computer! ").unwrap(), ["ok", "computer"]);
        assert_eq!(model_name("Hey  Jarvis").unwrap(), "hey_jarvis");
        let err = phrase_words("  ,! ").unwrap_err().to_string();
        assert!(err.contains("no words"), "{err}");
    }

    #[test]
    fn ok_computer_near_misses() {
        let found = near_misses("ok computer", &NearMissLimits::default()).unwrap();
        let texts: Vec<&str> = found.iter().map(|n| n.text.as_str()).collect();
        for wanted in ["ok", "okay", "computer", "ok commuter"] {
            assert!(texts.contains(&wanted), "{wanted:?} missing from {texts:?}");
        }
        assert!(!texts.contains(&"ok computer") && !texts.contains(&"okay computer"), "{texts:?}");
        let kinds: BTreeSet<NearMissKind> = found.iter().map(|n| n.kind).collect();
        for kind in [NearMissKind::WordAlone, NearMissKind::Swapped, NearMissKind::PhonemeEdit, NearMissKind::Rhyme] {
            assert!(kinds.contains(&kind), "no {kind:?} in {found:?}");
        }
        // Every near-miss but the single words keeps the phrase's length.
        assert!(found.iter().filter(|n| n.kind != NearMissKind::WordAlone).all(|n| n.text.split(' ').count() == 2));
        assert!(found.len() >= 12 && found.len() <= 40, "{}: {texts:?}", found.len());
    }

    #[test]
    fn three_word_phrases_get_their_prefix() {
        let found = near_misses("hey hearth assistant", &NearMissLimits { per_word_edits: 1, per_word_rhymes: 1, per_word_swaps: 1 }).unwrap();
        assert!(found.iter().any(|n| n.text == "hey hearth" && n.kind == NearMissKind::Prefix), "{found:?}");
        assert!(near_misses("", &NearMissLimits::default()).is_err());
    }
}
