//! Filling one slot at a position in the utterance: every way the list can match there, as
//! (end position, value). Numbers and durations are read in digits or words ("twenty five", "25",
//! "an hour and a half") with `hearth_node::words`.

use hearth_node::words;
use serde_json::Value;

use crate::compile::ListKind;
use crate::text::Token;

/// How a list matched from a position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fill {
    pub end: usize,
    pub value: Value,
    /// Free-text words taken (a wildcard); the matcher prefers matches with fewer.
    pub wild: usize,
}

pub(crate) fn fills(list: &ListKind, tokens: &[Token], words: &[&str], text: &str, pos: usize, out: &mut Vec<Fill>) {
    let rest = &words[pos..];
    match list {
        ListKind::Values(values) => {
            for (phrase, value) in values {
                if rest.len() >= phrase.len() && phrase.iter().zip(rest).all(|(p, w)| p == w) {
                    out.push(Fill { end: pos + phrase.len(), value: value.clone(), wild: 0 });
                }
            }
        }
        ListKind::Range { from, to } => {
            if let Some((n, used)) = number(rest) {
                if n.fract() == 0.0 && (*from as f64..=*to as f64).contains(&n) {
                    out.push(Fill { end: pos + used, value: Value::from(n as i64), wild: 0 });
                }
            }
        }
        ListKind::Duration => {
            for (used, seconds) in durations(rest) {
                out.push(Fill { end: pos + used, value: Value::from(seconds), wild: 0 });
            }
        }
        ListKind::Wildcard { max_words, exclude, numbers } => {
            for len in 1..=(*max_words).min(rest.len()) {
                let w = rest[len - 1];
                if exclude.contains(w) || (!numbers && is_number_word(w)) {
                    break;
                }
                let (start, end) = (tokens[pos].start, tokens[pos + len - 1].end);
                out.push(Fill { end: pos + len, value: Value::String(text[start..end].to_string()), wild: len });
            }
        }
    }
}

/// A number at the start of `words`, in digits or words, but not "a"/"an" (only durations read those).
fn number(words: &[&str]) -> Option<(f64, usize)> {
    if matches!(words.first(), Some(&"a") | Some(&"an")) {
        return None;
    }
    words::parse_number(words)
}

fn is_number_word(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_digit()) || number(&[w]).is_some()
}

fn unit_seconds(word: &str) -> Option<f64> {
    match word {
        "second" | "seconds" | "sec" | "secs" => Some(1.0),
        "minute" | "minutes" | "min" | "mins" => Some(60.0),
        "hour" | "hours" | "hr" | "hrs" => Some(3600.0),
        _ => None,
    }
}

/// Every prefix of `words` that is a whole duration, as (words used, seconds): "ten minutes and
/// thirty seconds" gives (2, 600) and (5, 630). Lengths under a second are not durations.
pub(crate) fn durations(words: &[&str]) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut total = 0.0;
    loop {
        let start = if !out.is_empty() && words.get(at) == Some(&"and") { at + 1 } else { at };
        let Some((used, seconds)) = words.get(start..).and_then(duration_part) else { break };
        at = start + used;
        total += seconds;
        if total >= 1.0 {
            out.push((at, total.round() as u64));
        }
    }
    out
}

/// One "number unit" part: "ten minutes", "one and a half hours", "a minute and a half",
/// "half an hour", "a quarter of an hour".
fn duration_part(w: &[&str]) -> Option<(usize, f64)> {
    let and_a_half = |at: usize| w.get(at..at + 3) == Some(&["and", "a", "half"][..]);
    if w.first() == Some(&"half") && matches!(w.get(1), Some(&"a") | Some(&"an")) {
        return w.get(2).and_then(|u| unit_seconds(u)).map(|u| (3, u / 2.0));
    }
    if matches!(w.first(), Some(&"a") | Some(&"one")) && w.get(1..5) == Some(&["quarter", "of", "an", "hour"][..]) {
        return Some((5, 900.0));
    }
    let (mut value, mut used) = words::parse_number(w)?;
    if and_a_half(used) {
        value += 0.5;
        used += 3;
    }
    let unit = unit_seconds(w.get(used)?)?;
    used += 1;
    let mut seconds = value * unit;
    if and_a_half(used) {
        seconds += unit / 2.0;
        used += 3;
    }
    Some((used, seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn longest(s: &str) -> Option<u64> {
        let w: Vec<&str> = s.split_whitespace().collect();
        durations(&w).last().filter(|(used, _)| *used == w.len()).map(|(_, s)| *s)
    }

    #[test]
    fn reads_durations() {
        assert_eq!(longest("ten seconds"), Some(10));
        assert_eq!(longest("25 minutes"), Some(1500));
        assert_eq!(longest("twenty five minutes"), Some(1500));
        assert_eq!(longest("a minute and a half"), Some(90));
        assert_eq!(longest("one and a half hours"), Some(5400));
        assert_eq!(longest("half an hour"), Some(1800));
        assert_eq!(longest("an hour and a half"), Some(5400));
        assert_eq!(longest("2 minutes and 30 seconds"), Some(150));
        assert_eq!(longest("1 hour 15 minutes"), Some(4500));
        assert_eq!(longest("a quarter of an hour"), Some(900));
        assert_eq!(longest("1.5 hours"), Some(5400));
        assert_eq!(longest("five"), None);
        assert_eq!(longest("minutes"), None);
        let w = ["ten", "minutes", "for", "pasta"];
        assert_eq!(durations(&w), vec![(2, 600)]);
    }

    #[test]
    fn wildcards_stop_at_excluded_words() {
        let text = "Paris tomorrow please";
        let tokens = crate::text::tokenize(text);
        let words: Vec<&str> = tokens.iter().map(|t| t.word.as_str()).collect();
        let list = ListKind::Wildcard { max_words: 5, exclude: ["tomorrow".to_string()].into(), numbers: false };
        let mut out = Vec::new();
        fills(&list, &tokens, &words, text, 0, &mut out);
        assert_eq!(out, vec![Fill { end: 1, value: Value::from("Paris"), wild: 1 }]);
        let range = ListKind::Range { from: 0, to: 100 };
        let tokens = crate::text::tokenize("forty two percent");
        let words: Vec<&str> = tokens.iter().map(|t| t.word.as_str()).collect();
        out.clear();
        fills(&range, &tokens, &words, "", 0, &mut out);
        assert_eq!(out[0].value, Value::from(42));
    }
}
