//! Text made speakable before phonemization: what an LLM or a tool writes ("14:05", "14°C", "$3.50",
//! "Dr.", "5 km/h", "&") becomes the words a person would say. espeak-ng reads plain numbers itself,
//! but not units, times, currency amounts or most abbreviations the way a person does, and a stray "."
//! in "Dr." would end a sentence.
//!
//! Choices: clock times are read off a 12-hour clock, as the tools service says them ("14:05" → "two oh
//! five PM", "9:00" → "nine o'clock AM"); ISO dates are read "March fifteenth, twenty twenty-four";
//! four-digit numbers are read as years only after "in", "since", "by", "from", "until", "of" or a
//! month name. Control characters, emoji and symbols with no spoken form are dropped.
//!
//! [`split_sentences`] cuts long text into sentences (and over-long sentences into pieces) so each can
//! be synthesized and streamed on its own.

use hearth_node::words;

/// Speakable text: see the module doc.
pub fn normalize(text: &str) -> String {
    let cleaned = clean(text);
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let (pre, core, post) = split_punct(tokens[i]);
        let next = tokens.get(i + 1).map(|t| split_punct(t));
        let prev = if i > 0 { split_punct(tokens[i - 1]).1.to_lowercase() } else { String::new() };
        let (words, used_next, post) = expand(core, post, next, &prev);
        let mut piece = String::from(pre);
        piece.push_str(&words);
        piece.push_str(&post);
        if !piece.trim().is_empty() {
            out.push(piece);
        }
        i += if used_next { 2 } else { 1 };
    }
    out.join(" ")
}

/// Control characters become spaces; typographic quotes become plain ones; characters espeak would
/// read as a name ("smiling face") or skip are dropped; `&`, `+`, `=`, `@` are spoken.
fn clean(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_control() => s.push(' '),
            '\u{2018}' | '\u{2019}' | '\u{02bc}' => s.push('\''),
            '\u{201c}' | '\u{201d}' | '«' | '»' => s.push('"'),
            '&' => s.push_str(" and "),
            '=' => s.push_str(" equals "),
            '×' => s.push_str(" times "),
            '~' | '≈' => s.push_str(" about "),
            '*' | '_' | '^' | '`' | '|' | '\\' | '<' | '>' | '{' | '}' | '[' | ']' | '#' => s.push(' '),
            c if is_speakable(c) => s.push(c),
            _ => s.push(' '),
        }
    }
    s
}

fn is_speakable(c: char) -> bool {
    c.is_alphanumeric()
        || c.is_whitespace()
        || matches!(
            c,
            '.' | ',' | '!' | '?' | ';' | ':' | '\'' | '"' | '(' | ')' | '-' | '–' | '—' | '…' | '/' | '%' | '°' | '$'
                | '€' | '£' | '¥' | '+' | '@' | '¿' | '¡'
        )
        || ('\u{0300}'..='\u{036f}').contains(&c)
}

const LEADING: &[char] = &['(', '"', '\'', '¿', '¡'];
const TRAILING: &[char] = &['.', ',', '!', '?', ';', ':', ')', '"', '\'', '…'];

fn split_punct(token: &str) -> (&str, &str, &str) {
    let core_start = token.len() - token.trim_start_matches(LEADING).len();
    let rest = &token[core_start..];
    let core = rest.trim_end_matches(TRAILING);
    (&token[..core_start], core, &rest[core.len()..])
}

/// One token (and maybe the next) to words. Returns the words, whether the next token was used, and the
/// trailing punctuation to keep.
fn expand(core: &str, post: &str, next: Option<(&str, &str, &str)>, prev: &str) -> (String, bool, String) {
    let keep = |w: String| (w, false, post.to_string());
    if core.is_empty() {
        return keep(String::new());
    }
    if let Some((words, eats_dot)) = abbreviation(core, post, next) {
        let post = if eats_dot { post.strip_prefix('.').unwrap_or(post) } else { post };
        return (words, false, post.to_string());
    }
    if let Some(w) = clock_time(core) {
        // "3:30 pm": the meridiem is already said.
        if let Some((_, n, npost)) = next {
            if matches!(n.to_lowercase().as_str(), "am" | "pm" | "a.m" | "p.m") {
                let hour = clock_hour(core, n.to_lowercase().starts_with('p'));
                return (hour.unwrap_or(w), true, npost.trim_start_matches('.').to_string());
            }
        }
        return keep(w);
    }
    if let Some(w) = iso_date(core) {
        return keep(w);
    }
    if let Some(w) = ordinal(core) {
        return keep(w);
    }
    if let Some(w) = range(core) {
        return keep(w);
    }
    if let Some(amount) = Amount::parse(core) {
        if amount.suffix.is_empty() && amount.currency.is_none() {
            if let Some((_, n, npost)) = next {
                if let Some(unit) = separate_unit_words(n, amount.is_one()) {
                    return (format!("{} {unit}", amount.number_words()), true, npost.to_string());
                }
                if amount.is_plain_integer() && matches!(n.to_lowercase().as_str(), "am" | "pm") {
                    let h: u32 = amount.int.parse().unwrap_or(0);
                    if (1..=12).contains(&h) {
                        return (format!("{} {}", words::number(h as u64), n.to_uppercase()), true, npost.to_string());
                    }
                }
            }
            if amount.is_year() && is_year_context(prev) {
                return keep(year(amount.int.parse().unwrap_or(0)));
            }
        }
        if let (Some(c), Some((_, n, npost))) = (amount.currency, next) {
            if matches!(n, "thousand" | "million" | "billion" | "trillion") {
                let unit = currency_names(c).1;
                return (format!("{} {n} {unit}", amount.number_words()), true, npost.to_string());
            }
        }
        if let Some(w) = amount.words() {
            return keep(w);
        }
    }
    match core {
        "%" => keep("percent".into()),
        "°" => keep("degrees".into()),
        "+" => keep("plus".into()),
        "/" => keep(String::new()),
        "@" => keep("at".into()),
        "$" | "€" | "£" | "¥" => keep(String::new()),
        _ => keep(core.replace('@', " at ").replace('+', " plus ")),
    }
}

/// Abbreviations; `St.` is "Saint" before a name and "Street" after one. Returns the words and whether
/// the abbreviation's dot was used up (a dot that also ends the sentence is kept).
fn abbreviation(core: &str, post: &str, next: Option<(&str, &str, &str)>) -> Option<(String, bool)> {
    let dotted = post.starts_with('.');
    let next_capital = next.is_some_and(|(_, n, _)| n.starts_with(|c: char| c.is_uppercase()));
    let at_end = next.is_none();
    let word = match (core, dotted) {
        ("Dr", true) => "Doctor",
        ("Mr", true) => "Mister",
        ("Mrs", true) => "Missus",
        ("Ms", true) => "Miz",
        ("Prof", true) => "Professor",
        ("Jr", true) => "Junior",
        ("Sr", true) => "Senior",
        ("St", true) if next_capital => "Saint",
        ("St", true) => "Street",
        ("Ave", true) => "Avenue",
        ("Rd", true) => "Road",
        ("Mt", true) => "Mount",
        ("No", true) if next.is_some_and(|(_, n, _)| n.starts_with(|c: char| c.is_ascii_digit())) => "number",
        ("vs", true) | ("vs", false) => "versus",
        ("approx", true) => "approximately",
        ("e.g", true) | ("eg", true) => "for example",
        ("i.e", true) | ("ie", true) => "that is",
        ("etc", true) => "et cetera",
        ("a.m", true) => "AM",
        ("p.m", true) => "PM",
        _ => return None,
    };
    // A sentence-final "etc." keeps its dot as the full stop.
    let ends_sentence = matches!(word, "et cetera" | "AM" | "PM" | "Street" | "Junior" | "Senior") && (at_end || next_capital);
    Some((word.to_string(), !ends_sentence))
}

fn clock_hour(core: &str, pm: bool) -> Option<String> {
    let (h, m) = core.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&h) || m > 59 {
        return None;
    }
    let h24 = match (h, pm) {
        (12, false) => 0,
        (12, true) => 12,
        (h, true) => h + 12,
        (h, false) => h,
    };
    Some(words::clock(h24, m))
}

/// "14:05" → "two oh five PM".
fn clock_time(core: &str) -> Option<String> {
    let (h, m) = core.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m <= 59).then(|| words::clock(h % 24, m))
}

const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
];

/// "2024-03-15" → "March fifteenth, twenty twenty-four".
fn iso_date(core: &str) -> Option<String> {
    let parts: Vec<&str> = core.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return None;
    }
    let (y, m, d): (u32, usize, u32) = (parts[0].parse().ok()?, parts[1].parse().ok()?, parts[2].parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(format!("{} {}, {}", MONTHS[m - 1], words::ordinal(d), year(y)))
}

/// "21st" → "twenty-first".
fn ordinal(core: &str) -> Option<String> {
    let lower = core.to_lowercase();
    let digits = lower.strip_suffix("st").or(lower.strip_suffix("nd")).or(lower.strip_suffix("rd")).or(lower.strip_suffix("th"))?;
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(words::ordinal(digits.parse().ok()?))
}

/// "5-10" → "five to ten".
fn range(core: &str) -> Option<String> {
    let (a, b) = core.split_once(['-', '–'])?;
    let all_digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(a) || !all_digits(b) {
        return None;
    }
    Some(format!("{} to {}", cardinal(a.parse().ok()?), cardinal(b.parse().ok()?)))
}

fn is_year_context(prev: &str) -> bool {
    matches!(prev, "in" | "since" | "by" | "from" | "until" | "of" | "year" | "before" | "after")
        || MONTHS.iter().any(|m| m.eq_ignore_ascii_case(prev.trim_end_matches(',')))
}

/// 1990 → "nineteen ninety", 2005 → "two thousand five", 2024 → "twenty twenty-four".
fn year(y: u32) -> String {
    let (hi, lo) = (y / 100, y % 100);
    if !(11..=99).contains(&hi) || (y % 1000 < 10 && hi % 10 == 0) {
        return words::number(y as u64);
    }
    match lo {
        0 => format!("{} hundred", words::number(hi as u64)),
        1..=9 => format!("{} oh {}", words::number(hi as u64), words::number(lo as u64)),
        _ => format!("{} {}", words::number(hi as u64), words::number(lo as u64)),
    }
}

/// Integers in words, with billions (words::number stops at millions).
fn cardinal(n: u64) -> String {
    if n >= 1_000_000_000 {
        let rest = n % 1_000_000_000;
        let head = format!("{} billion", cardinal(n / 1_000_000_000));
        return if rest == 0 { head } else { format!("{head} {}", words::number(rest)) };
    }
    words::number(n)
}

/// A number as written, with an optional currency sign before and a unit after ("$3.50", "-3°F", "5km/h").
struct Amount<'a> {
    currency: Option<char>,
    negative: bool,
    int: String,
    frac: &'a str,
    suffix: &'a str,
}

impl<'a> Amount<'a> {
    fn parse(core: &'a str) -> Option<Amount<'a>> {
        let mut s = core;
        let mut negative = false;
        let mut currency = None;
        if let Some(r) = s.strip_prefix(['-', '−']) {
            negative = true;
            s = r;
        }
        if let Some(c) = s.chars().next().filter(|c| matches!(c, '$' | '€' | '£' | '¥')) {
            currency = Some(c);
            s = &s[c.len_utf8()..];
        }
        let int_len = s.find(|c: char| !(c.is_ascii_digit() || c == ',')).unwrap_or(s.len());
        let int_part = s[..int_len].trim_end_matches(',');
        if int_part.is_empty() || int_part.starts_with(',') {
            return None;
        }
        let groups: Vec<&str> = int_part.split(',').collect();
        if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
            return None;
        }
        let int: String = groups.concat();
        if int.len() > 12 {
            return None;
        }
        let mut rest = &s[int_part.len()..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            if n > 0 {
                frac = &r[..n];
                rest = &r[n..];
            }
        }
        Some(Amount { currency, negative, int, frac, suffix: rest })
    }

    fn value(&self) -> u64 {
        self.int.parse().unwrap_or(0)
    }

    fn is_one(&self) -> bool {
        self.value() == 1 && self.frac.is_empty()
    }

    fn is_plain_integer(&self) -> bool {
        !self.negative && self.frac.is_empty() && self.currency.is_none() && self.suffix.is_empty()
    }

    fn is_year(&self) -> bool {
        self.is_plain_integer() && self.int.len() == 4 && (1100..=2099).contains(&self.value())
    }

    fn number_words(&self) -> String {
        let mut w = cardinal(self.value());
        if !self.frac.is_empty() {
            let digits: Vec<String> = self.frac.chars().map(|c| words::number(c.to_digit(10).unwrap_or(0) as u64)).collect();
            w = format!("{w} point {}", digits.join(" "));
        }
        if self.negative { format!("minus {w}") } else { w }
    }

    /// The whole amount in words; `None` when the suffix is not a known unit (espeak reads it as is).
    fn words(&self) -> Option<String> {
        if let Some(c) = self.currency {
            let (one, many, cent, cents) = currency_names(c);
            let sign = if self.negative { "minus " } else { "" };
            let whole = format!("{sign}{} {}", cardinal(self.value()), if self.value() == 1 { one } else { many });
            return Some(match self.frac.len() {
                0 => whole,
                2 if !cent.is_empty() => match self.frac.parse::<u64>().unwrap_or(0) {
                    0 => whole,
                    c if self.value() == 0 => format!("{sign}{} {}", words::number(c), if c == 1 { cent } else { cents }),
                    1 => format!("{whole} and one {cent}"),
                    c => format!("{whole} and {} {cents}", words::number(c)),
                },
                _ => format!("{} {many}", self.number_words()),
            });
        }
        if self.suffix.is_empty() {
            return Some(self.number_words());
        }
        unit_words(self.suffix, self.is_one()).map(|u| format!("{} {u}", self.number_words()))
    }
}

/// (one, many, cent, cents) for a currency sign.
fn currency_names(c: char) -> (&'static str, &'static str, &'static str, &'static str) {
    match c {
        '$' => ("dollar", "dollars", "cent", "cents"),
        '€' => ("euro", "euros", "cent", "cents"),
        '£' => ("pound", "pounds", "penny", "pence"),
        _ => ("yen", "yen", "", ""),
    }
}

/// A unit after a number, in words.
fn unit_words(unit: &str, one: bool) -> Option<String> {
    const UNITS: &[(&str, &str, &str)] = &[
        ("%", "percent", "percent"),
        ("°C", "degree Celsius", "degrees Celsius"),
        ("°F", "degree Fahrenheit", "degrees Fahrenheit"),
        ("°", "degree", "degrees"),
        ("ºC", "degree Celsius", "degrees Celsius"),
        ("C", "degree Celsius", "degrees Celsius"),
        ("F", "degree Fahrenheit", "degrees Fahrenheit"),
        ("km/h", "kilometer per hour", "kilometers per hour"),
        ("kmh", "kilometer per hour", "kilometers per hour"),
        ("kph", "kilometer per hour", "kilometers per hour"),
        ("mph", "mile per hour", "miles per hour"),
        ("m/s", "meter per second", "meters per second"),
        ("km", "kilometer", "kilometers"),
        ("m", "meter", "meters"),
        ("cm", "centimeter", "centimeters"),
        ("mm", "millimeter", "millimeters"),
        ("mi", "mile", "miles"),
        ("ft", "foot", "feet"),
        ("kg", "kilogram", "kilograms"),
        ("g", "gram", "grams"),
        ("mg", "milligram", "milligrams"),
        ("lb", "pound", "pounds"),
        ("lbs", "pound", "pounds"),
        ("oz", "ounce", "ounces"),
        ("l", "liter", "liters"),
        ("L", "liter", "liters"),
        ("ml", "milliliter", "milliliters"),
        ("mL", "milliliter", "milliliters"),
        ("kWh", "kilowatt hour", "kilowatt hours"),
        ("kW", "kilowatt", "kilowatts"),
        ("W", "watt", "watts"),
        ("V", "volt", "volts"),
        ("A", "amp", "amps"),
        ("Hz", "hertz", "hertz"),
        ("kHz", "kilohertz", "kilohertz"),
        ("GB", "gigabyte", "gigabytes"),
        ("MB", "megabyte", "megabytes"),
        ("KB", "kilobyte", "kilobytes"),
        ("h", "hour", "hours"),
        ("hr", "hour", "hours"),
        ("hrs", "hour", "hours"),
        ("min", "minute", "minutes"),
        ("s", "second", "seconds"),
        ("sec", "second", "seconds"),
        ("ms", "millisecond", "milliseconds"),
    ];
    let unit = unit.trim();
    UNITS.iter().find(|(sym, _, _)| *sym == unit).map(|(_, s, p)| if one { *s } else { *p }.to_string())
}

/// Units that may stand as their own word after a number ("5 km"); single letters only when attached
/// ("5A" is amps, "5 A" may be a grade).
fn separate_unit_words(unit: &str, one: bool) -> Option<String> {
    if unit.chars().count() == 1 && !matches!(unit, "%" | "°" | "m") {
        return None;
    }
    unit_words(unit, one)
}

/// Splits text into sentences at `. ! ?` followed by white space, and pieces longer than `max_chars`
/// at the last comma, semicolon or space before the limit. Never returns empty pieces.
pub fn split_sentences(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(16);
    let chars: Vec<char> = text.chars().collect();
    let mut sentences = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let ends = matches!(chars[i], '.' | '!' | '?' | '…')
            && chars.get(i + 1).is_none_or(|c| c.is_whitespace())
            && !chars.get(i + 1..i + 3).is_some_and(|n| n.len() == 2 && n[1].is_lowercase());
        if ends {
            push_piece(&chars[start..=i], max_chars, &mut sentences);
            start = i + 1;
        }
    }
    push_piece(&chars[start.min(chars.len())..], max_chars, &mut sentences);
    sentences
}

fn push_piece(piece: &[char], max_chars: usize, out: &mut Vec<String>) {
    let mut rest: &[char] = piece;
    while rest.len() > max_chars {
        let window = &rest[..max_chars];
        let cut = window
            .iter()
            .rposition(|&c| matches!(c, ',' | ';' | ':'))
            .filter(|&p| p > max_chars / 3)
            .or_else(|| window.iter().rposition(|c| c.is_whitespace()).filter(|&p| p > 0))
            .unwrap_or(max_chars - 1);
        let s: String = rest[..=cut].iter().collect();
        if !s.trim().is_empty() {
            out.push(s.trim().to_string());
        }
        rest = &rest[cut + 1..];
    }
    let s: String = rest.iter().collect();
    if !s.trim().is_empty() {
        out.push(s.trim().to_string());
    }
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
