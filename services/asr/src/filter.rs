//! Keeping non-speech away from the brain.
//!
//! whisper marks noise with bracketed tags (`[BLANK_AUDIO]`, `(music)`, `*door slams*`, `♪`) and,
//! trained on subtitles, "hears" stock phrases in silence and noise ("Thank you.", "Thanks for
//! watching!", "you"). Tags are removed wherever they appear; a stock phrase is dropped only when it
//! is the whole text, so "thank you, turn off the lights" still gets through.

/// Phrases whisper is known to produce on silence, noise or music, after [`normalise`] (lower case,
/// no punctuation, single spaces). Matched against the whole normalised text only.
pub const HALLUCINATIONS: &[&str] = &[
    "you",
    "thank you",
    "thank you very much",
    "thank you so much",
    "thanks",
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "thanks for listening",
    "thank you for listening",
    "please subscribe",
    "like and subscribe",
    "subscribe to my channel",
    "please like and subscribe",
    "see you next time",
    "see you in the next video",
    "bye",
    "bye bye",
    "subtitles by the amara org community",
    "transcription by castingwords",
    "so",
    "oh",
    "uh",
    "um",
    "hmm",
    "mm",
];

/// What the filter made of whisper's raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Words to answer, trimmed, tags removed.
    Speech(String),
    /// whisper returned nothing (or only whitespace and punctuation).
    Empty,
    /// Only tags or a known hallucination; the raw text is kept for the logs.
    NonSpeech(String),
}

/// Classifies whisper's raw output.
pub fn classify(raw: &str) -> Heard {
    let stripped = strip_tags(raw);
    let text = tidy(&stripped);
    let normalised = normalise(&text);
    if normalised.is_empty() {
        return if normalise(raw).is_empty() && !has_tags(raw) { Heard::Empty } else { Heard::NonSpeech(raw.trim().to_string()) };
    }
    if HALLUCINATIONS.contains(&normalised.as_str()) {
        return Heard::NonSpeech(raw.trim().to_string());
    }
    Heard::Speech(text)
}

/// Lower case, letters and digits only (apostrophes inside words kept), single spaces.
pub fn normalise(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '\'' || c == '’' { c.to_lowercase().next().unwrap_or(c) } else { ' ' })
        .collect();
    mapped
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn has_tags(raw: &str) -> bool {
    strip_tags(raw) != raw
}

/// Removes `[…]`, `(…)`, `*…*` spans and music symbols. An unclosed opener removes the rest of the
/// text: whisper cuts tags at the token limit (`[BLANK_AUD`) and what follows is never speech.
fn strip_tags(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut closer: Option<char> = None;
    for c in raw.chars() {
        match closer {
            Some(close) if c == close => {
                closer = None;
                out.push(' ');
            }
            Some(_) => {}
            None => match c {
                '[' => closer = Some(']'),
                '(' => closer = Some(')'),
                '*' => closer = Some('*'),
                '♪' | '♫' | '♬' | '♩' => out.push(' '),
                _ => out.push(c),
            },
        }
    }
    out
}

/// Collapses whitespace, trims, and drops spaces left in front of punctuation by removed tags.
fn tidy(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(joined.len());
    for c in joined.chars() {
        if matches!(c, ',' | '.' | '!' | '?' | ';' | ':') && out.ends_with(' ') {
            out.pop();
        }
        out.push(c);
    }
    out.trim_start_matches([',', '.', ';', ':', ' ', '-']).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speech(s: &str) -> Heard {
        Heard::Speech(s.into())
    }

    #[test]
    fn words_pass_trimmed() {
        assert_eq!(classify(" Turn on the kitchen lights."), speech("Turn on the kitchen lights."));
        assert_eq!(classify("  What's the time?  "), speech("What's the time?"));
        assert_eq!(classify(" Thank you, turn off the lights."), speech("Thank you, turn off the lights."));
        assert_eq!(classify(" You're welcome"), speech("You're welcome"));
        assert_eq!(classify(" Set a timer for 5 minutes."), speech("Set a timer for 5 minutes."));
    }

    #[test]
    fn nothing_is_empty() {
        for raw in ["", "   ", " .", "...", " - "] {
            assert_eq!(classify(raw), Heard::Empty, "{raw:?}");
        }
    }

    #[test]
    fn tags_alone_are_non_speech() {
        for raw in [
            "[BLANK_AUDIO]",
            " [ Silence ]",
            " (music)",
            " (upbeat music)",
            "*",
            " *door slams*",
            " ♪",
            " ♪♪♪",
            " [MUSIC PLAYING] (applause)",
            " [BLANK_AUD",
            " (",
        ] {
            assert!(matches!(classify(raw), Heard::NonSpeech(_)), "{raw:?} → {:?}", classify(raw));
        }
    }

    #[test]
    fn tags_are_removed_around_speech() {
        assert_eq!(classify(" [MUSIC] Turn it down."), speech("Turn it down."));
        assert_eq!(classify(" Turn it down (music) please."), speech("Turn it down please."));
        assert_eq!(classify(" ♪ Play some jazz ♪"), speech("Play some jazz"));
        assert_eq!(classify(" What time is it [BLANK_AUDIO]?"), speech("What time is it?"));
    }

    #[test]
    fn stock_hallucinations_are_non_speech_only_as_the_whole_text() {
        for raw in [
            " Thank you.",
            " Thank you!",
            " THANK YOU",
            " Thanks for watching!",
            " Thank you for watching.",
            " you",
            " You",
            " Bye.",
            " Bye-bye.",
            " So...",
            " [BLANK_AUDIO] Thank you.",
            " Subtitles by the Amara.org community",
            " Please subscribe.",
        ] {
            assert!(matches!(classify(raw), Heard::NonSpeech(_)), "{raw:?} → {:?}", classify(raw));
        }
        assert_eq!(classify(" Thank you very much"), Heard::NonSpeech("Thank you very much".into()));
        assert_eq!(classify(" Thanks for watching the oven."), speech("Thanks for watching the oven."));
        assert_eq!(classify(" So turn it off"), speech("So turn it off"));
    }

    #[test]
    fn normalise_is_case_and_punctuation_blind() {
        assert_eq!(normalise(" Thank-you!! "), "thank you");
        assert_eq!(normalise("What's  UP?"), "what's up");
        assert_eq!(normalise("'quoted'"), "quoted");
        assert_eq!(normalise("Amara.org"), "amara org");
        // Every list entry is already normalised, or it could never match.
        for h in HALLUCINATIONS {
            assert_eq!(normalise(h), *h);
        }
    }
}
