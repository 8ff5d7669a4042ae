//! Whisper decoding that ran away: the text repeats itself or holds more words than anyone says in
//! that much audio.
//!
//! Whisper was trained on 30-second windows. With the encoder context cut to the utterance's length
//! (`scale_audio_ctx`, 2–4× faster on short commands), tiny.en now and then loops on a short request:
//! on 48 Piper-spoken requests it said "How do I make a cup of tea?" three times on one clip and
//! another request twenty times. The engine checks every scaled decode with [`looks_runaway`] and
//! decodes again with the full context when it fires, so the speed-up stays on the clips where it is
//! harmless.

/// Words per second above which the text cannot be one person's speech (fast talkers manage about 4).
const MAX_WORDS_PER_SECOND: f64 = 5.0;
/// Short clips have a little slack: whisper's one-second padding, a number read as several words.
const WORD_SLACK: f64 = 6.0;
/// A run of at least this many words said twice in a row counts as a loop.
const MIN_REPEATED_WORDS: usize = 3;

/// Whether `text`, decoded from `seconds` of audio, looks like a decoding loop.
pub fn looks_runaway(text: &str, seconds: f64) -> bool {
    let words = words(text);
    too_many_words(words.len(), seconds) || repeats_back_to_back(&words)
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn too_many_words(count: usize, seconds: f64) -> bool {
    count as f64 > seconds.max(0.0) * MAX_WORDS_PER_SECOND + WORD_SLACK
}

/// Some run of `MIN_REPEATED_WORDS` or more words followed at once by the same run.
fn repeats_back_to_back(words: &[String]) -> bool {
    let n = words.len();
    (MIN_REPEATED_WORDS..=n / 2).any(|len| (0..=n - 2 * len).any(|start| words[start..start + len] == words[start + len..start + 2 * len]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_requests_pass() {
        for (text, seconds) in [
            ("How do I make a cup of tea?", 2.0),
            ("Set a timer for ten minutes.", 1.6),
            ("And so my fellow Americans ask not what your country can do for you, ask what you can do for your country.", 11.0),
            ("Play the the Beatles.", 1.5),
            ("", 0.5),
            ("Wow, wow, wow!", 1.0),
        ] {
            assert!(!looks_runaway(text, seconds), "{text}");
        }
    }

    #[test]
    fn a_request_said_three_times_is_a_loop() {
        let text = "How do I make a cup of tea? How do I make a cup of tea? How do I make a cup of tea?";
        assert!(looks_runaway(text, 6.0), "repeated back to back, even with time enough for the words");
    }

    #[test]
    fn more_words_than_the_audio_can_hold_is_a_loop() {
        let text = (0..40).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert!(looks_runaway(&text, 3.0));
        assert!(!looks_runaway(&text, 10.0));
    }
}
