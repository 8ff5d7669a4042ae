//! Text as speech recognition gives it and as tags spell it, brought to one form so they compare:
//! lower case, no punctuation or accents, "&" as "and", digits as words ("Route 66" = "route sixty
//! six"), a leading "the" dropped. Plus the edit distance that forgives small misspellings.

use hearth_node::words;

/// `s` as words: lower case, letters and digits only, numbers spelled out, "&" read as "and".
pub fn words_of(s: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' | '+' => cleaned.push_str(" and "),
            // "don't", "Guns N' Roses": the apostrophe joins, it does not split.
            '\'' | '’' | '`' => {}
            c if c.is_alphanumeric() => cleaned.extend(fold(c).to_lowercase()),
            _ => cleaned.push(' '),
        }
    }
    let mut out = Vec::new();
    for w in cleaned.split_whitespace() {
        if let Some(n) = roman(w) {
            out.push(words::number(n));
            continue;
        }
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || digits.len() > 9 {
            out.push(w.to_string());
            continue;
        }
        let n: u64 = digits.parse().unwrap_or(0);
        out.extend(words::number(n).split([' ', '-']).filter(|p| !p.is_empty()).map(str::to_string));
        // "2nd", "80s": keep the letters after the number as a word of their own.
        let rest = &w[digits.len()..];
        if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

/// Roman numerals of two or more letters as in "Boyz II Men", "Led Zeppelin IV" (a lone "I" or "V"
/// is far more often a word or a letter).
fn roman(w: &str) -> Option<u64> {
    const NUMERALS: [&str; 8] = ["ii", "iii", "iv", "vi", "vii", "viii", "xii", "xiii"];
    const VALUES: [u64; 8] = [2, 3, 4, 6, 7, 8, 12, 13];
    NUMERALS.iter().position(|n| *n == w).map(|i| VALUES[i])
}

/// The form titles are compared in: [`words_of`] joined by spaces, without a leading "the" or "a".
pub fn key(s: &str) -> String {
    let mut w = words_of(s);
    if w.len() > 1 && (w[0] == "the" || w[0] == "a") {
        w.remove(0);
    }
    w.join(" ")
}

/// Latin letters with accents to their base letter ("Beyoncé" = "beyonce"); others unchanged.
fn fold(c: char) -> char {
    const FROM: &str = "àáâãäåçèéêëìíîïñòóôõöøùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ";
    const TO: &str = "aaaaaaceeeeiiiinoooooouuuuyyAAAAAACEEEEIIIINOOOOOOUUUUY";
    FROM.chars().position(|f| f == c).and_then(|i| TO.chars().nth(i)).unwrap_or(c)
}

/// Levenshtein distance between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// How alike two keys are, 0 to 1: 1 for equal, less by the share of characters that differ.
/// Spaces are ignored, so "led zeppelin" and "ledzeppelin" are the same.
pub fn similarity(a: &str, b: &str) -> f32 {
    let a: String = a.chars().filter(|c| *c != ' ').collect();
    let b: String = b.chars().filter(|c| *c != ' ').collect();
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 0.0;
    }
    1.0 - edit_distance(&a, &b) as f32 / longest as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_punctuation_numbers_and_the() {
        assert_eq!(key("The Beatles"), "beatles");
        assert_eq!(key("AC/DC"), "ac dc");
        assert_eq!(key("Route 66"), "route sixty six");
        assert_eq!(key("route sixty-six"), "route sixty six");
        assert_eq!(key("Don't Stop Me Now!"), "dont stop me now");
        assert_eq!(key("Simon & Garfunkel"), "simon and garfunkel");
        assert_eq!(key("Beyoncé"), "beyonce");
        assert_eq!(key("The The"), "the");
        assert_eq!(key("Boyz II Men"), "boyz two men");
        assert_eq!(key("1999"), key("one thousand nine hundred ninety nine"));
    }

    #[test]
    fn small_misspellings_are_close() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert!(similarity("led zeppelin", "led zepplin") > 0.9);
        assert!(similarity("nirvana", "metallica") < 0.5);
        assert_eq!(similarity("a b", "ab"), 1.0);
    }
}
