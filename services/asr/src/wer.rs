//! Word error rate with the usual normalisation: case, punctuation and the way numbers are written
//! ("10" and "ten", "forty-two" and "forty two") do not count as errors; words do.

use hearth_node::words::{number, ordinal};

/// Lower-case words with punctuation removed and numbers in words.
///
/// Digits become words: 10 → "ten", 2.5 → "two point five", 3:30 → "three thirty", 1,000 → "one
/// thousand", 21st → "twenty first", and four-digit numbers from 1100 to 1999 are read as years
/// ("nineteen forty five"), as speakers say them. Hyphens and slashes separate words; apostrophes
/// inside words stay ("what's" is one word, not "what is").
pub fn normalize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'").replace('%', " percent ").replace('&', " and ");
    let chars: Vec<char> = lower.chars().collect();
    let mut cleaned = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit_at = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| c.is_ascii_digit());
        let between_digits = digit_at(i.checked_sub(1)) && digit_at(Some(i + 1));
        let keep = c.is_alphanumeric() || c == '\'' || (matches!(c, '.' | ',' | ':') && between_digits);
        cleaned.push(if keep { c } else { ' ' });
    }
    cleaned
        .split_whitespace()
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .flat_map(number_words)
        .collect()
}

/// One token as words: numbers spelled out, anything else as it is.
fn number_words(token: &str) -> Vec<String> {
    let split = |s: String| s.split(['-', ' ']).filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    if !token.starts_with(|c: char| c.is_ascii_digit()) {
        return vec![token.to_owned()];
    }
    let digits_end = token.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | ':'))).unwrap_or(token.len());
    let (num, suffix) = token.split_at(digits_end);
    let mut words = Vec::new();
    if let Some((h, m)) = num.split_once(':') {
        words.extend(cardinal(h).map(split).unwrap_or_default());
        match m.parse::<u64>() {
            Ok(0) => {}
            Ok(m) if m < 10 => words.extend(["oh".to_owned(), number(m)]),
            Ok(m) => words.extend(split(number(m))),
            Err(_) => {}
        }
    } else if let Some((whole, frac)) = num.split_once('.') {
        words.extend(cardinal(whole).map(split).unwrap_or_default());
        words.push("point".into());
        words.extend(frac.chars().filter_map(|d| d.to_digit(10)).map(|d| number(d as u64)));
    } else if matches!(suffix, "st" | "nd" | "rd" | "th") {
        if let Ok(n) = num.replace(',', "").parse::<u32>() {
            return split(ordinal(n));
        }
    } else if let Some(w) = cardinal(num) {
        words.extend(split(w));
    }
    if !suffix.is_empty() && !matches!(suffix, "st" | "nd" | "rd" | "th") {
        words.push(suffix.to_owned());
    }
    words
}

/// Whole numbers in words, years as pairs (1945 → "nineteen forty-five").
fn cardinal(digits: &str) -> Option<String> {
    let n: u64 = digits.replace(',', "").parse().ok()?;
    Some(match n {
        1100..=1999 if n % 100 == 0 => format!("{} hundred", number(n / 100)),
        1100..=1999 if n % 100 < 10 => format!("{} oh {}", number(n / 100), number(n % 100)),
        1100..=1999 => format!("{} {}", number(n / 100), number(n % 100)),
        _ => number(n),
    })
}

/// Word-level edit counts between a reference and a hypothesis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors {
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    /// Words in the reference.
    pub reference_words: usize,
}

impl Errors {
    pub fn total(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// Errors per reference word (0 for an empty reference with an empty hypothesis).
    pub fn rate(&self) -> f64 {
        if self.reference_words == 0 {
            return if self.total() == 0 { 0.0 } else { 1.0 };
        }
        self.total() as f64 / self.reference_words as f64
    }

    pub fn add(&mut self, other: Errors) {
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
        self.reference_words += other.reference_words;
    }
}

/// Normalises both texts and counts the fewest substitutions, deletions and insertions (Levenshtein
/// over words) that turn the reference into the hypothesis.
pub fn errors(reference: &str, hypothesis: &str) -> Errors {
    let (r, h) = (normalize(reference), normalize(hypothesis));
    // cost[j] for the current row, with (substitutions, deletions, insertions) kept along the best path.
    let mut prev: Vec<(usize, Errors)> =
        (0..=h.len()).map(|j| (j, Errors { insertions: j, ..Errors::default() })).collect();
    for i in 1..=r.len() {
        let mut row = Vec::with_capacity(h.len() + 1);
        row.push((i, Errors { deletions: i, ..Errors::default() }));
        for j in 1..=h.len() {
            let (sub_cost, mut sub) = prev[j - 1];
            let same = r[i - 1] == h[j - 1];
            if !same {
                sub.substitutions += 1;
            }
            let mut best = (sub_cost + usize::from(!same), sub);
            let (del_cost, mut del) = prev[j];
            del.deletions += 1;
            if del_cost + 1 < best.0 {
                best = (del_cost + 1, del);
            }
            let (ins_cost, mut ins) = row[j - 1];
            ins.insertions += 1;
            if ins_cost + 1 < best.0 {
                best = (ins_cost + 1, ins);
            }
            row.push(best);
        }
        prev = row;
    }
    Errors { reference_words: r.len(), ..prev[h.len()].1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).join(" ")
    }

    #[test]
    fn case_punctuation_and_numbers_do_not_count() {
        assert_eq!(n("Set a timer for 10 minutes."), "set a timer for ten minutes");
        assert_eq!(n("Set a timer for ten minutes"), "set a timer for ten minutes");
        assert_eq!(n("It's 42 degrees, isn't it?"), "it's forty two degrees isn't it");
        assert_eq!(n("Wake me at 7:05, or 7:30."), "wake me at seven oh five or seven thirty");
        assert_eq!(n("2.5 km and 1,000 m"), "two point five km and one thousand m");
        assert_eq!(n("the 21st of May, 1945"), "the twenty first of may nineteen forty five");
        assert_eq!(n("The year 2024; 100% sure"), "the year two thousand twenty four one hundred percent sure");
        assert_eq!(n("Rock & roll - \u{201c}quoted\u{201d} \u{2018}single\u{2019}"), "rock and roll quoted single");
        assert_eq!(n("10am"), "ten am");
    }

    #[test]
    fn edit_counts_follow_the_best_alignment() {
        let e = errors("what is the weather like today", "What's the weather like today?");
        assert_eq!((e.substitutions, e.deletions, e.insertions, e.reference_words), (1, 1, 0, 6));
        let e = errors("set a timer", "set a timer please now");
        assert_eq!((e.total(), e.insertions), (2, 2));
        assert_eq!(errors("Ask not!", "ask, not").total(), 0);
        assert_eq!(errors("", "").rate(), 0.0);
        assert_eq!(errors("a b c d", "").rate(), 1.0);
        let mut total = errors("a b", "a c");
        total.add(errors("d e f", "d e f"));
        assert_eq!((total.total(), total.reference_words), (1, 5));
        assert!((total.rate() - 0.2).abs() < 1e-12);
    }
}
