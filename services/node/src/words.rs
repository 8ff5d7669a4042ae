//! Numbers and durations as spoken words, both ways: the brain reads "ninety seconds" and "a minute and
//! a half" from transcripts, and every service writes durations and times the way a person says them.

const ONES: [&str; 20] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// `n` in words: 42 → "forty-two", 1300 → "one thousand three hundred".
pub fn number(n: u64) -> String {
    match n {
        0..=19 => ONES[n as usize].to_string(),
        20..=99 => {
            let (t, o) = (n / 10, n % 10);
            if o == 0 { TENS[t as usize].to_string() } else { format!("{}-{}", TENS[t as usize], ONES[o as usize]) }
        }
        100..=999 => join(number(n / 100) + " hundred", n % 100),
        1_000..=999_999 => join(number(n / 1000) + " thousand", n % 1000),
        _ => join(number(n / 1_000_000) + " million", n % 1_000_000),
    }
}

fn join(head: String, rest: u64) -> String {
    if rest == 0 { head } else { format!("{head} {}", number(rest)) }
}

fn unit(n: u64, singular: &str) -> String {
    if n == 1 { format!("one {singular}") } else { format!("{} {singular}s", number(n)) }
}

/// A duration in seconds as spoken: 10 → "ten seconds", 90 → "one and a half minutes",
/// 150 → "two and a half minutes", 125 → "two minutes and five seconds", 5400 → "one and a half hours",
/// 3900 → "one hour and five minutes".
pub fn duration(total_s: u64) -> String {
    let (h, m, s) = (total_s / 3600, (total_s % 3600) / 60, total_s % 60);
    if h == 0 && m == 0 {
        return unit(s, "second");
    }
    if h == 0 {
        return match s {
            0 => unit(m, "minute"),
            30 => format!("{} and a half minutes", number(m)),
            _ => format!("{} and {}", unit(m, "minute"), unit(s, "second")),
        };
    }
    // Past an hour, seconds no longer matter when spoken (round to the minute).
    let m = if s >= 30 && m < 59 { m + 1 } else { m };
    match m {
        0 => unit(h, "hour"),
        30 => format!("{} and a half hours", number(h)),
        _ => format!("{} and {}", unit(h, "hour"), unit(m, "minute")),
    }
}

/// A clock time the way it is read off a 12-hour clock: (15, 5) → "three oh five PM".
pub fn clock(hour24: u32, minute: u32) -> String {
    let suffix = if hour24 < 12 { "AM" } else { "PM" };
    let h = match hour24 % 12 {
        0 => 12,
        h => h,
    };
    let hh = number(h as u64);
    match minute {
        0 => format!("{hh} o'clock {suffix}"),
        1..=9 => format!("{hh} oh {} {suffix}", number(minute as u64)),
        _ => format!("{hh} {} {suffix}", number(minute as u64)),
    }
}

/// Ordinal day of month: 1 → "first", 22 → "twenty-second".
pub fn ordinal(n: u32) -> String {
    const SPECIAL: [(&str, &str); 8] = [
        ("one", "first"), ("two", "second"), ("three", "third"), ("five", "fifth"),
        ("eight", "eighth"), ("nine", "ninth"), ("twelve", "twelfth"), ("ty", "tieth"),
    ];
    let words = number(n as u64);
    for (end, repl) in SPECIAL {
        if let Some(stem) = words.strip_suffix(end) {
            return format!("{stem}{repl}");
        }
    }
    format!("{words}th")
}

/// Parses a number written in digits or words at the start of `tokens` ("twenty five", "a", "an",
/// "15", "one hundred and five"). Returns the value and how many tokens it used.
pub fn parse_number(tokens: &[&str]) -> Option<(f64, usize)> {
    let first = *tokens.first()?;
    if let Ok(v) = first.parse::<f64>() {
        return Some((v, 1));
    }
    if matches!(first, "a" | "an") {
        return Some((1.0, 1));
    }
    let mut total = 0u64;
    let mut current = 0u64;
    let mut used = 0;
    for (i, tok) in tokens.iter().enumerate() {
        let tok = *tok;
        if let Some(v) = small_word(tok) {
            current += v;
        } else if let Some((a, b)) = tok.split_once('-') {
            match (small_word(a), small_word(b)) {
                (Some(x), Some(y)) => current += x + y,
                _ => break,
            }
        } else if tok == "hundred" && used > 0 {
            current = current.max(1) * 100;
        } else if tok == "thousand" && used > 0 {
            total += current.max(1) * 1000;
            current = 0;
        } else if tok == "and" && used > 0 && tokens.get(i + 1).is_some_and(|t| small_word(t).is_some()) && current >= 100 {
            // "one hundred and five"
        } else {
            break;
        }
        used = i + 1;
    }
    (used > 0).then(|| ((total + current) as f64, used))
}

fn small_word(w: &str) -> Option<u64> {
    if let Some(i) = ONES.iter().position(|o| *o == w) {
        return Some(i as u64);
    }
    TENS.iter().position(|t| !t.is_empty() && *t == w).map(|i| i as u64 * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_words() {
        assert_eq!(number(0), "zero");
        assert_eq!(number(42), "forty-two");
        assert_eq!(number(90), "ninety");
        assert_eq!(number(105), "one hundred five");
        assert_eq!(number(86_400), "eighty-six thousand four hundred");
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration(1), "one second");
        assert_eq!(duration(10), "ten seconds");
        assert_eq!(duration(60), "one minute");
        assert_eq!(duration(90), "one and a half minutes");
        assert_eq!(duration(125), "two minutes and five seconds");
        assert_eq!(duration(3600), "one hour");
        assert_eq!(duration(5400), "one and a half hours");
        assert_eq!(duration(3900), "one hour and five minutes");
    }

    #[test]
    fn clock_and_ordinals() {
        assert_eq!(clock(15, 5), "three oh five PM");
        assert_eq!(clock(0, 0), "twelve o'clock AM");
        assert_eq!(clock(12, 30), "twelve thirty PM");
        assert_eq!(ordinal(1), "first");
        assert_eq!(ordinal(22), "twenty-second");
        assert_eq!(ordinal(30), "thirtieth");
        assert_eq!(ordinal(11), "eleventh");
        assert_eq!(ordinal(12), "twelfth");
    }

    #[test]
    fn parses_numbers() {
        assert_eq!(parse_number(&["ninety", "seconds"]), Some((90.0, 1)));
        assert_eq!(parse_number(&["twenty", "five", "minutes"]), Some((25.0, 2)));
        assert_eq!(parse_number(&["twenty-five"]), Some((25.0, 1)));
        assert_eq!(parse_number(&["a", "minute"]), Some((1.0, 1)));
        assert_eq!(parse_number(&["1.5", "hours"]), Some((1.5, 1)));
        assert_eq!(parse_number(&["one", "hundred", "and", "five"]), Some((105.0, 4)));
        assert_eq!(parse_number(&["minutes"]), None);
    }
}
