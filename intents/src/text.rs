//! Utterances and template words as the matcher sees them: lower case, no apostrophes ("what's" and
//! "whats" are one word, as ASR writes either), hyphens and punctuation split words, `%` is "percent".
//! Each token remembers where it came from, so free text (a place, a topic) is given back as it was
//! written: "Paris, Texas", "Ada Lovelace".

/// One word of an utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Normalised form, compared with template words.
    pub word: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
}

/// Splits `text` into normalised tokens.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let flush = |current: &mut Option<(usize, String)>, end: usize, tokens: &mut Vec<Token>| {
        if let Some((start, word)) = current.take() {
            if !word.is_empty() {
                tokens.push(Token { word, start, end });
            }
        }
    };
    for (i, &(at, c)) in chars.iter().enumerate() {
        let digit_around = |d: usize| {
            i >= d && chars[i - d].1.is_ascii_digit() && chars.get(i + d).is_some_and(|(_, n)| n.is_ascii_digit())
        };
        if c.is_alphanumeric() {
            let start = current.as_ref().map_or(at, |(s, _)| *s);
            let mut word = current.take().map(|(_, w)| w).unwrap_or_default();
            word.extend(c.to_lowercase());
            current = Some((start, word));
        } else if is_apostrophe(c) && current.is_some() {
            // Dropped inside a word: "what's" → "whats".
        } else if (c == '.' || c == ':') && digit_around(1) {
            // "2.5", "7:30" stay one token.
            if let Some((_, w)) = current.as_mut() {
                w.push(c);
            }
        } else {
            flush(&mut current, at, &mut tokens);
            if c == '%' {
                tokens.push(Token { word: "percent".into(), start: at, end: at + 1 });
            }
        }
    }
    flush(&mut current, text.len(), &mut tokens);
    tokens
}

/// The normalised words of a template literal ("what's" → ["whats"]).
pub fn words(literal: &str) -> Vec<String> {
    tokenize(literal).into_iter().map(|t| t.word).collect()
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | 'ʼ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.word).collect()
    }

    #[test]
    fn normalises_words() {
        assert_eq!(words_of("What's the Weather in Paris, Texas?"), ["whats", "the", "weather", "in", "paris", "texas"]);
        assert_eq!(words_of("set a five-minute timer"), ["set", "a", "five", "minute", "timer"]);
        assert_eq!(words_of("volume to 40%"), ["volume", "to", "40", "percent"]);
        assert_eq!(words_of("wake me at 7:30, or 2.5 hours."), ["wake", "me", "at", "7:30", "or", "2.5", "hours"]);
        assert_eq!(words_of("Don’t 'quote' me"), ["dont", "quote", "me"]);
        assert_eq!(words_of("Zürich"), ["zürich"]);
        assert!(words_of(" ?! ").is_empty());
    }

    #[test]
    fn tokens_point_back_into_the_text() {
        let text = "Who was Ada Lovelace?";
        let t = tokenize(text);
        assert_eq!(&text[t[2].start..t[3].end], "Ada Lovelace");
    }
}
