//! libespeak-ng, in-process: text to IPA clauses (Piper's phonemizer) and the built-in fallback voice.
//!
//! espeak-ng's C API keeps global state and is not thread-safe, so one named thread per process owns it
//! and every caller (any number of engines, tests running in parallel) sends it requests.
//!
//! Piper's reference (`piper-tts`) calls `espeak_TextToPhonemesWithTerminator`, which only exists from
//! espeak-ng 1.52. Debian's 1.51 has `espeak_TextToPhonemes`, which reads the same clauses with the same
//! clause reader but does not say how each clause ended; [`clause_end`] recovers the terminator from the
//! text the call consumed. The fixture test checks it against piper-tts clause by clause.

use std::ffi::{c_char, c_int, c_short, c_uint, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;

use tracing::{info, warn};

use crate::TtsError;

/// The sample rate of espeak-ng's own voice, in Hertz.
pub const ESPEAK_SAMPLE_RATE_HZ: u32 = 22_050;

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const INITIALIZE_DONT_EXIT: c_int = 0x8000;
const CHARS_UTF8: c_uint = 1;
const ENDPAUSE: c_uint = 0x1000;
const PHONEMES_IPA: c_int = 0x02;
const POS_CHARACTER: c_int = 1;
const PARAM_RATE: c_int = 1;

type SynthCallback = unsafe extern "C" fn(*mut c_short, c_int, *mut c_void) -> c_int;

extern "C" {
    fn espeak_Initialize(output: c_int, buflength: c_int, path: *const c_char, options: c_int) -> c_int;
    fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    fn espeak_TextToPhonemes(textptr: *mut *const c_void, textmode: c_int, phonememode: c_int) -> *const c_char;
    fn espeak_SetSynthCallback(cb: SynthCallback);
    fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
    #[allow(clippy::too_many_arguments)]
    fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    fn espeak_Synchronize() -> c_int;
    fn espeak_Info(path_data: *mut *const c_char) -> *const c_char;
}

/// One clause as espeak-ng read it: IPA phonemes (words separated by spaces), the punctuation that ended
/// it (`.`, `?`, `!`, `,`, `:`, `;` or empty) and whether it ended a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub phonemes: String,
    pub terminator: &'static str,
    pub end_of_sentence: bool,
}

type Job = Box<dyn FnOnce(&mut Owner) + Send>;

/// A handle to the thread that owns libespeak-ng. Cheap to clone.
#[derive(Clone)]
pub struct Espeak {
    jobs: mpsc::Sender<Job>,
    /// espeak-ng's version string, e.g. `1.51`.
    pub version: String,
}

static GLOBAL: OnceLock<Result<Espeak, String>> = OnceLock::new();

impl Espeak {
    /// The process-wide espeak-ng. The first call starts it with `data_dir` (None: the library's default);
    /// later calls share it whatever directory they name.
    pub fn global(data_dir: Option<&Path>) -> Result<Espeak, TtsError> {
        GLOBAL.get_or_init(|| start(data_dir.map(Path::to_path_buf))).clone().map_err(TtsError::Espeak)
    }

    fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut Owner) -> T + Send + 'static) -> Result<T, TtsError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |owner| {
                let _ = tx.send(f(owner));
            }))
            .map_err(|_| TtsError::Espeak("the espeak-ng thread is gone".into()))?;
        rx.recv().map_err(|_| TtsError::Espeak("the espeak-ng thread dropped a request".into()))
    }

    /// Text to clauses with `voice` (an espeak-ng voice name such as `en-us`).
    pub fn clauses(&self, voice: &str, text: &str) -> Result<Vec<Clause>, TtsError> {
        let (voice, text) = (voice.to_string(), text.to_string());
        self.call(move |owner| owner.clauses(&voice, &text))?
    }

    /// Speaks `text` with espeak-ng's own voice: s16 mono at [`ESPEAK_SAMPLE_RATE_HZ`].
    pub fn synthesize(&self, voice: &str, rate_wpm: u32, text: &str) -> Result<Vec<i16>, TtsError> {
        let (voice, text) = (voice.to_string(), text.to_string());
        self.call(move |owner| owner.synthesize(&voice, rate_wpm, &text))?
    }
}

fn start(data_dir: Option<PathBuf>) -> Result<Espeak, String> {
    let (jobs, rx) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("espeak-ng".into())
        .spawn(move || {
            let owner = match Owner::init(data_dir.as_deref()) {
                Ok(o) => {
                    let _ = ready_tx.send(Ok(o.version.clone()));
                    o
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut owner = owner;
            while let Ok(job) = rx.recv() {
                job(&mut owner);
            }
        })
        .map_err(|e| format!("cannot start the espeak-ng thread: {e}"))?;
    let version = ready_rx.recv().map_err(|_| "the espeak-ng thread died while starting".to_string())??;
    info!(version = %version, "espeak-ng ready");
    Ok(Espeak { jobs, version })
}

/// Lives on the espeak-ng thread only.
struct Owner {
    version: String,
    voice: Option<String>,
    rate_wpm: u32,
}

thread_local! {
    /// Samples of the utterance being synthesized; espeak's callback has no user pointer in sync mode
    /// that we could use safely, and only this thread ever synthesizes.
    static SAMPLES: std::cell::RefCell<Vec<i16>> = const { std::cell::RefCell::new(Vec::new()) };
}

unsafe extern "C" fn on_samples(wav: *mut c_short, count: c_int, _events: *mut c_void) -> c_int {
    if !wav.is_null() && count > 0 {
        // SAFETY: espeak-ng hands `count` valid samples at `wav` for the duration of the call.
        let chunk = unsafe { std::slice::from_raw_parts(wav, count as usize) };
        SAMPLES.with(|s| s.borrow_mut().extend_from_slice(chunk));
    }
    0
}

impl Owner {
    fn init(data_dir: Option<&Path>) -> Result<Owner, String> {
        let path = match data_dir {
            Some(p) => Some(CString::new(p.as_os_str().as_encoded_bytes()).map_err(|_| "espeak data path has a NUL byte")?),
            None => None,
        };
        // SAFETY: called once, on the owning thread; the path outlives the call.
        let rate = unsafe {
            espeak_Initialize(
                AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                INITIALIZE_DONT_EXIT,
            )
        };
        if rate <= 0 {
            return Err(format!(
                "espeak-ng failed to initialize (data dir {}) — install espeak-ng-data (apt install espeak-ng)",
                data_dir.map_or("<default>".into(), |p| p.display().to_string())
            ));
        }
        // SAFETY: plain function pointer with the signature espeak-ng expects (the event pointer is opaque).
        unsafe { espeak_SetSynthCallback(on_samples) };
        let mut data: *const c_char = std::ptr::null();
        // SAFETY: espeak_Info returns a static string.
        let version = unsafe { CStr::from_ptr(espeak_Info(&mut data)) }.to_string_lossy().into_owned();
        Ok(Owner { version, voice: None, rate_wpm: 0 })
    }

    fn set_voice(&mut self, voice: &str) -> Result<(), TtsError> {
        if self.voice.as_deref() == Some(voice) {
            return Ok(());
        }
        let name = CString::new(voice).map_err(|_| TtsError::Espeak(format!("bad voice name {voice:?}")))?;
        // SAFETY: valid C string, owning thread.
        if unsafe { espeak_SetVoiceByName(name.as_ptr()) } != 0 {
            self.voice = None;
            return Err(TtsError::Espeak(format!("espeak-ng has no voice {voice:?}")));
        }
        self.voice = Some(voice.to_string());
        self.rate_wpm = 0;
        Ok(())
    }

    fn clauses(&mut self, voice: &str, text: &str) -> Result<Vec<Clause>, TtsError> {
        self.set_voice(voice)?;
        let c_text = CString::new(text.replace('\0', " ")).expect("NUL bytes replaced");
        let separated = PHONEME_SEPARATOR as c_int;
        let ipa = self.read_clauses(&c_text, PHONEMES_IPA | (separated << 8))?;
        // A second pass for the phoneme names, which show the glides that IPA output drops.
        let names = self.read_clauses(&c_text, separated << 8)?;
        let aligned = names.len() == ipa.len();
        if !aligned {
            warn!(text, "espeak-ng read the text differently in its two passes; palatal glides left out");
        }
        let bytes = c_text.as_bytes();
        let mut out = Vec::with_capacity(ipa.len());
        for (i, (phonemes, start, end)) in ipa.iter().enumerate() {
            let at_end = end.is_none();
            let consumed = &bytes[(*start).min(bytes.len())..end.unwrap_or(bytes.len()).min(bytes.len())];
            let (terminator, end_of_sentence) = clause_end(&String::from_utf8_lossy(consumed), at_end);
            let phonemes = match names.get(i) {
                Some((names, _, _)) if aligned => with_glides(phonemes, names),
                _ => phonemes.replace(PHONEME_SEPARATOR, ""),
            };
            out.push(Clause { phonemes, terminator, end_of_sentence });
        }
        Ok(out)
    }

    /// Every clause of `c_text` through `espeak_TextToPhonemes` in `mode`: the phonemes, and the byte
    /// range of the text the call consumed (end `None` when the text ended).
    fn read_clauses(&mut self, c_text: &CStr, mode: c_int) -> Result<Vec<(String, usize, Option<usize>)>, TtsError> {
        let bytes = c_text.to_bytes();
        let base = c_text.as_ptr() as usize;
        let mut ptr: *const c_void = c_text.as_ptr().cast();
        let mut out = Vec::new();
        while !ptr.is_null() {
            let start = ptr as usize - base;
            // SAFETY: `ptr` points into `c_text`, which is NUL-terminated and alive; espeak advances it
            // within the buffer or sets it to NULL at the end.
            let phonemes = unsafe { espeak_TextToPhonemes(&mut ptr, 0, mode) };
            let phonemes = if phonemes.is_null() {
                String::new()
            } else {
                // SAFETY: espeak returns a NUL-terminated string valid until the next call.
                unsafe { CStr::from_ptr(phonemes) }.to_string_lossy().into_owned()
            };
            out.push((phonemes, start, (!ptr.is_null()).then(|| ptr as usize - base)));
            if out.len() > bytes.len() + 1 {
                // espeak always advances; this guards against a library that would not.
                return Err(TtsError::Espeak("espeak-ng did not advance through the text".into()));
            }
        }
        Ok(out)
    }

    fn synthesize(&mut self, voice: &str, rate_wpm: u32, text: &str) -> Result<Vec<i16>, TtsError> {
        self.set_voice(voice)?;
        if self.rate_wpm != rate_wpm {
            // SAFETY: owning thread.
            unsafe { espeak_SetParameter(PARAM_RATE, rate_wpm as c_int, 0) };
            self.rate_wpm = rate_wpm;
        }
        let c_text = CString::new(text.replace('\0', " ")).expect("NUL bytes replaced");
        SAMPLES.with(|s| s.borrow_mut().clear());
        // SAFETY: synchronous mode: the callback runs on this thread before espeak_Synth returns.
        let err = unsafe {
            espeak_Synth(
                c_text.as_ptr().cast(),
                c_text.as_bytes_with_nul().len(),
                0,
                POS_CHARACTER,
                0,
                CHARS_UTF8 | ENDPAUSE,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        // SAFETY: owning thread.
        unsafe { espeak_Synchronize() };
        if err != 0 {
            warn!(code = err, "espeak-ng synthesis failed");
            return Err(TtsError::Espeak(format!("espeak-ng synthesis failed (code {err})")));
        }
        Ok(SAMPLES.with(|s| std::mem::take(&mut *s.borrow_mut())))
    }
}

/// The character espeak-ng is asked to put between the phonemes of a word, so that the IPA and the
/// phoneme-name passes line up phoneme by phoneme. Never part of a phoneme's name or IPA.
const PHONEME_SEPARATOR: char = '\u{1f}';
/// espeak-ng's name for the palatal glide its English rules insert after an /i/-like vowel before
/// another vowel ("the apple", "high up", "ratio").
const GLIDE_NAME: &str = ";";
/// How piper-tts writes that glide. Its espeak-ng (rhasspy's fork, which every Piper voice was trained
/// with) writes `ʲ`; upstream espeak-ng writes nothing, so the IPA pass leaves an empty slot there.
const GLIDE_IPA: &str = "ʲ";

/// One clause's IPA with the separators removed and each empty slot where the names pass has the
/// glide filled with [`GLIDE_IPA`]. A word whose two passes do not line up keeps its IPA as it is.
pub fn with_glides(ipa: &str, names: &str) -> String {
    let ipa_words: Vec<&str> = ipa.split(' ').collect();
    let name_words: Vec<&str> = names.split(' ').collect();
    if ipa_words.len() != name_words.len() {
        return ipa.replace(PHONEME_SEPARATOR, "");
    }
    let words: Vec<String> = ipa_words
        .iter()
        .zip(&name_words)
        .map(|(ipa_word, name_word)| {
            let slots: Vec<&str> = ipa_word.split(PHONEME_SEPARATOR).collect();
            let names: Vec<&str> = name_word.split(PHONEME_SEPARATOR).collect();
            if slots.len() != names.len() {
                return ipa_word.replace(PHONEME_SEPARATOR, "");
            }
            slots.iter().zip(&names).map(|(ipa, name)| if ipa.is_empty() && *name == GLIDE_NAME { GLIDE_IPA } else { ipa }).collect()
        })
        .collect();
    words.join(" ")
}

/// How a clause ended, from the text `espeak_TextToPhonemes` consumed for it. espeak reads one character
/// past the white space after a terminator (to tell "e.g. this" from a sentence end), so all but the last
/// consumed character belong to the clause unless the text ended. Mirrors the mapping in piper-tts's
/// `espeakbridge.c`: only plain `. ? ! , : ;` (and the dashes, which espeak reads as a semicolon) count;
/// an ellipsis ends a clause but not a sentence; the end of the text ends a sentence.
pub fn clause_end(consumed: &str, at_end: bool) -> (&'static str, bool) {
    let mut text = consumed;
    if !at_end {
        if let Some((i, _)) = text.char_indices().next_back() {
            text = &text[..i];
        }
    }
    let text = text.trim_end();
    let run: Vec<char> = text.chars().rev().take_while(|c| matches!(c, '.' | '?' | '!')).collect();
    if run.iter().filter(|&&c| c == '.').count() >= 2 || text.ends_with('…') {
        return ("", at_end);
    }
    match run.last().copied().or_else(|| text.chars().next_back()) {
        Some('.') => (".", true),
        Some('?') => ("?", true),
        Some('!') => ("!", true),
        Some(',') => (",", false),
        Some(':') => (":", false),
        Some(';') | Some('—') | Some('–') => (";", false),
        _ => ("", at_end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminators_from_consumed_text() {
        assert_eq!(clause_end("Hello, w", false), (",", false));
        assert_eq!(clause_end("orld. H", false), (".", true));
        assert_eq!(clause_end("Really?!", true), ("?", true));
        assert_eq!(clause_end("Wait... w", false), ("", false));
        assert_eq!(clause_end("Hmm… o", false), ("", false));
        assert_eq!(clause_end("Well — I", false), (";", false));
        assert_eq!(clause_end("one two", true), ("", true));
    }

    #[test]
    fn glides_fill_the_empty_slots_the_names_pass_marks() {
        let sep = PHONEME_SEPARATOR;
        let ipa = format!("ð{sep}ɪ{sep} ˈaɪ{sep}f{sep}əl ɹ{sep}ˈeɪ{sep}ʃ{sep}ɪ{sep}{sep}ˌoʊ");
        let names = format!("D{sep}I2{sep}; 'aI{sep}f{sep}@L r{sep}'eI{sep}S{sep}I2{sep};{sep},oU");
        assert_eq!(with_glides(&ipa, &names), "ðɪʲ ˈaɪfəl ɹˈeɪʃɪʲˌoʊ");
        // Passes that do not line up leave the IPA as it is.
        assert_eq!(with_glides(&ipa, "D"), "ðɪ ˈaɪfəl ɹˈeɪʃɪˌoʊ");
        assert_eq!(with_glides(&format!("a{sep}b c"), "a b c"), "ab c");
    }

    #[test]
    fn phonemes_from_the_library() {
        let espeak = Espeak::global(None).unwrap();
        let clauses = espeak.clauses("en-us", "Hello, world. How are you?").unwrap();
        let terms: Vec<_> = clauses.iter().map(|c| (c.terminator, c.end_of_sentence)).collect();
        assert_eq!(terms, vec![(",", false), (".", true), ("?", true)]);
        assert!(clauses[0].phonemes.contains("h"), "{clauses:?}");
        assert!(espeak.clauses("xx-nonexistent", "hi").is_err());
        // The glide after "the" before a vowel, as piper-tts writes it.
        let clauses = espeak.clauses("en-us", "The apple.").unwrap();
        assert!(clauses[0].phonemes.starts_with("ðɪʲ "), "{clauses:?}");
    }
}
