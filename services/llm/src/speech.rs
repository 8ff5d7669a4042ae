//! From generated token bytes to speakable sentences, as the tokens arrive.
//!
//! The pipeline is [`Utf8Stream`] (byte-level BPE pieces may split a character, and a model may emit bytes that
//! are never valid UTF-8) → [`ThinkFilter`] (drops `<think>…</think>`) → [`SentenceSplitter`] (publishes each
//! sentence as soon as its end is certain) → [`clean_for_speech`] (markdown, emoji, links).

/// Turns a stream of byte pieces into text: holds back an incomplete character until its remaining bytes
/// arrive, and drops bytes that can never form a valid character.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // SAFETY-free: `good` is valid by construction of `valid_up_to`.
                    out.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => rest = &bad[n..],
                        None => {
                            rest = bad; // an incomplete character at the end: wait for more bytes
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }

    /// Whatever is still pending can never complete: it is dropped.
    pub fn finish(&mut self) {
        self.pending.clear();
    }
}

const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";

/// Removes `<think>…</think>` blocks from streamed text, holding back a tail that may be the start of a tag.
#[derive(Debug, Default)]
pub struct ThinkFilter {
    buf: String,
    inside: bool,
}

impl ThinkFilter {
    pub fn push(&mut self, text: &str) -> String {
        self.buf.push_str(text);
        let mut out = String::new();
        loop {
            let tag = if self.inside { THINK_CLOSE } else { THINK_OPEN };
            if let Some(at) = self.buf.find(tag) {
                if !self.inside {
                    out.push_str(&self.buf[..at]);
                }
                self.buf.drain(..at + tag.len());
                self.inside = !self.inside;
                continue;
            }
            // Keep the longest suffix that is a proper prefix of the tag; release the rest.
            let keep = (1..tag.len())
                .rev()
                .find(|&n| self.buf.len() >= n && self.buf.is_char_boundary(self.buf.len() - n) && tag.starts_with(&self.buf[self.buf.len() - n..]))
                .unwrap_or(0);
            let cut = self.buf.len() - keep;
            if !self.inside {
                out.push_str(&self.buf[..cut]);
            }
            self.buf.drain(..cut);
            return out;
        }
    }

    /// The held-back tail (an unfinished tag is text after all, unless inside a block).
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.buf);
        if self.inside {
            String::new()
        } else {
            rest
        }
    }
}

/// Titles that never end a sentence.
const TITLES: &[&str] = &["mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "mt", "ft", "gen", "col", "capt", "lt", "rev"];
/// Abbreviations that end a sentence only when a capital letter follows.
const ABBREVIATIONS: &[&str] = &[
    "etc", "vs", "approx", "no", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "min", "max", "est", "dept", "fig", "vol",
];
/// Abbreviations that never end a sentence.
const INNER_ABBREVIATIONS: &[&str] = &["e.g", "i.e", "cf", "a.m", "p.m"];

/// Splits streamed text into sentences, each returned as soon as what follows it proves it complete.
#[derive(Debug, Default)]
pub struct SentenceSplitter {
    buf: String,
}

impl SentenceSplitter {
    /// Adds text; returns the sentences it completed, raw (not yet cleaned).
    pub fn push(&mut self, text: &str) -> Vec<String> {
        self.buf.push_str(text);
        let mut out = Vec::new();
        while let Some(end) = self.boundary() {
            let sentence = self.buf[..end].trim().to_string();
            self.buf.drain(..end);
            if !sentence.is_empty() {
                out.push(sentence);
            }
        }
        out
    }

    /// The rest, at the end of the reply.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }

    /// Byte offset just past the first certain sentence end, if any.
    fn boundary(&self) -> Option<usize> {
        let s = self.buf.as_str();
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            if c == '\n' {
                if s[..at].trim().is_empty() {
                    i += 1;
                    continue;
                }
                return Some(at + 1);
            }
            if !matches!(c, '.' | '!' | '?' | '…') {
                i += 1;
                continue;
            }
            // The run of terminators and closing quotes or brackets: `?!`, `."`, `...`, `.)`.
            let mut j = i;
            while j < chars.len() && matches!(chars[j].1, '.' | '!' | '?' | '…' | '"' | '\'' | ')' | ']' | '”' | '’') {
                j += 1;
            }
            let &(next_at, next) = chars.get(j)?; // wait for what follows
            if !next.is_whitespace() {
                i = j; // "3.5", "e.g.x", "Hi!Me": not an end
                continue;
            }
            let run: String = chars[i..j].iter().map(|&(_, c)| c).collect();
            let following = chars[j..].iter().map(|&(_, c)| c).find(|c| !c.is_whitespace());
            let ellipsis = run.starts_with("..") || run.starts_with('…');
            let needs_capital = ellipsis || (run == "." && self.abbreviation_before(at) == Abbrev::EndsIfCapital);
            let never = run == "." && matches!(self.abbreviation_before(at), Abbrev::Never);
            if never {
                i = j;
                continue;
            }
            if needs_capital {
                match following {
                    None => return None, // wait for the next word
                    Some(f) if f.is_uppercase() || f == '\n' => return Some(next_at),
                    Some(_) => {
                        i = j;
                        continue;
                    }
                }
            }
            return Some(next_at);
        }
        None
    }

    /// What kind of word ends just before the period at byte `dot`.
    fn abbreviation_before(&self, dot: usize) -> Abbrev {
        let before = &self.buf[..dot];
        let word_start = before.rfind(|c: char| c.is_whitespace() || c == '(' || c == '"').map_or(0, |p| p + 1);
        let word = &before[word_start..];
        let lower = word.to_lowercase();
        let line_start = before[..word_start].rfind('\n').map_or(0, |p| p + 1);
        let at_line_start = before[line_start..word_start].trim().is_empty();
        if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) && at_line_start {
            return Abbrev::Never; // "1. " list marker
        }
        let mut letters = word.chars().filter(|c| c.is_alphabetic());
        if let (Some(c), None) = (letters.next(), letters.next()) {
            if c.is_uppercase() && word.chars().count() == 1 {
                return Abbrev::Never; // an initial: "J. R. R. Tolkien"
            }
        }
        if TITLES.contains(&lower.as_str()) || INNER_ABBREVIATIONS.contains(&lower.as_str()) {
            Abbrev::Never
        } else if ABBREVIATIONS.contains(&lower.as_str()) {
            Abbrev::EndsIfCapital
        } else {
            Abbrev::None
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Abbrev {
    None,
    Never,
    EndsIfCapital,
}

/// Makes a sentence speakable: drops markdown (emphasis, headings, list markers, code marks, link targets),
/// emoji and tags, and collapses whitespace. Returns an empty string when nothing speakable is left.
pub fn clean_for_speech(sentence: &str) -> String {
    let text = strip_links(sentence);
    let mut text = text.trim_start();
    // Line-start markers: headings, quotes, bullets, numbered items.
    loop {
        let before = text;
        text = text.trim_start_matches('#').trim_start_matches('>').trim_start();
        for bullet in ["- ", "* ", "+ ", "• "] {
            if let Some(rest) = text.strip_prefix(bullet) {
                text = rest.trim_start();
            }
        }
        let digits = text.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && digits < 4 {
            let rest = &text[digits..];
            if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
                text = rest.trim_start();
            }
        }
        if text == before {
            break;
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '`' | '#' | '|' | '~' => out.push(' '),
            '_' => out.push(' '),
            '<' => {
                // Drop tag-like runs such as `<br>` or a stray `</tool_call>`.
                let mut tag = String::new();
                let mut closed = false;
                while let Some(&n) = chars.peek() {
                    if n == '>' {
                        chars.next();
                        closed = true;
                        break;
                    }
                    if n.is_whitespace() && tag.is_empty() {
                        break;
                    }
                    tag.push(n);
                    chars.next();
                    if tag.len() > 40 {
                        break;
                    }
                }
                let looks_like_tag = closed && tag.trim_start_matches('/').chars().next().is_some_and(|c| c.is_ascii_alphabetic());
                if !looks_like_tag {
                    out.push('<');
                    out.push_str(&tag);
                    if closed {
                        out.push('>');
                    }
                }
            }
            c if is_emoji(c) => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    // Spaces left before punctuation by removed marks: "Paris ." → "Paris."
    let tidy = collapsed.replace(" .", ".").replace(" ,", ",").replace(" !", "!").replace(" ?", "?").replace(" :", ":");
    if tidy.chars().any(char::is_alphanumeric) {
        tidy
    } else {
        String::new()
    }
}

/// `[text](url)` → `text`, `![alt](url)` → nothing, `<https://…>` → nothing.
fn strip_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let image = rest[..open].ends_with('!');
        let Some(close_rel) = rest[open..].find("](") else { break };
        let close = open + close_rel;
        let Some(end_rel) = rest[close + 2..].find(')') else { break };
        let end = close + 2 + end_rel;
        let prefix = if image { &rest[..open - 1] } else { &rest[..open] };
        out.push_str(prefix);
        if !image {
            out.push_str(&rest[open + 1..close]);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // pictographs, emoticons, transport, flags, symbols and pictographs extended
        | 0x2600..=0x27BF   // miscellaneous symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows and stars
        | 0x2300..=0x23FF   // watch, hourglass, alarm clock
        | 0xFE00..=0xFE0F   // variation selectors
        | 0x200D            // zero-width joiner
        | 0x20E3            // keycap
        | 0xE0020..=0xE007F // tag characters
    )
}

/// The whole pipeline for one reply: feed token bytes, get speakable sentences.
#[derive(Debug, Default)]
pub struct SpeechStream {
    utf8: Utf8Stream,
    think: ThinkFilter,
    splitter: SentenceSplitter,
}

impl SpeechStream {
    pub fn push_text(&mut self, text: &str) -> Vec<String> {
        let visible = self.think.push(text);
        self.splitter.push(&visible).iter().map(|s| clean_for_speech(s)).filter(|s| !s.is_empty()).collect()
    }

    pub fn push_bytes(&mut self, bytes: &[u8]) -> Vec<String> {
        let text = self.utf8.push(bytes);
        self.push_text(&text)
    }

    pub fn finish(&mut self) -> Vec<String> {
        self.utf8.finish();
        let tail = self.think.finish();
        let mut out: Vec<String> = self.splitter.push(&tail).iter().map(|s| clean_for_speech(s)).collect();
        out.extend(self.splitter.finish().map(|s| clean_for_speech(&s)));
        out.retain(|s| !s.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(pieces: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::default();
        let mut out = Vec::new();
        for p in pieces {
            out.extend(s.push(p));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn splits_sentences_as_they_complete() {
        let mut s = SentenceSplitter::default();
        assert!(s.push("It is sunny").is_empty());
        assert!(s.push(" today.").is_empty(), "the end is certain only once what follows arrives");
        assert_eq!(s.push(" Tomorrow"), vec!["It is sunny today."]);
        assert_eq!(s.push(" rain! Bring"), vec!["Tomorrow rain!"]);
        assert_eq!(s.finish().as_deref(), Some("Bring"));
    }

    #[test]
    fn abbreviations_decimals_initials_and_ellipses() {
        assert_eq!(
            split_all(&["Dr. Smith is 3.5 metres tall. Mr", ". Jones isn't."]),
            vec!["Dr. Smith is 3.5 metres tall.", "Mr. Jones isn't."]
        );
        assert_eq!(split_all(&["J. R. R. Tolkien wrote it. Yes."]), vec!["J. R. R. Tolkien wrote it.", "Yes."]);
        assert_eq!(split_all(&["Well... maybe. Or not... Who knows?"]), vec!["Well... maybe.", "Or not...", "Who knows?"]);
        assert_eq!(split_all(&["Bring apples, pears, etc. and go. Then rest."]), vec!["Bring apples, pears, etc. and go.", "Then rest."]);
        assert_eq!(split_all(&["Use e.g. salt. Done."]), vec!["Use e.g. salt.", "Done."]);
        assert_eq!(split_all(&["He said \"hi.\" Then left."]), vec!["He said \"hi.\"", "Then left."]);
        assert_eq!(split_all(&["Pi is 3.14159 roughly"]), vec!["Pi is 3.14159 roughly"]);
    }

    #[test]
    fn lines_and_list_items_are_sentences() {
        assert_eq!(
            split_all(&["Steps:\n1. Boil", " water\n2. Add pasta\n\n- Salt it"]),
            vec!["Steps:", "1. Boil water", "2. Add pasta", "- Salt it"]
        );
    }

    #[test]
    fn cleaning_removes_what_is_not_spoken() {
        assert_eq!(clean_for_speech("**Paris** is the _capital_ of France."), "Paris is the capital of France.");
        assert_eq!(clean_for_speech("## Weather today"), "Weather today");
        assert_eq!(clean_for_speech("- Use `cargo` daily"), "Use cargo daily");
        assert_eq!(clean_for_speech("2. Add the pasta"), "Add the pasta");
        assert_eq!(clean_for_speech("See [the docs](https://x.y/z) now."), "See the docs now.");
        assert_eq!(clean_for_speech("![logo](a.png) Nice!"), "Nice!");
        assert_eq!(clean_for_speech("Great job 👍🏽! 🎉"), "Great job!");
        assert_eq!(clean_for_speech("It's ☀️ and 3 < 5 <br>ok"), "It's and 3 < 5 ok");
        assert_eq!(clean_for_speech("🎉 ** 🎉"), "");
    }

    #[test]
    fn utf8_pieces_split_and_invalid() {
        let mut u = Utf8Stream::default();
        let e = "é".as_bytes();
        assert_eq!(u.push(&e[..1]), "");
        assert_eq!(u.push(&e[1..]), "é");
        assert_eq!(u.push(&[0xFF, b'a', 0x80, b'b']), "ab", "bytes that are never valid are dropped");
        let smile = "😀".as_bytes();
        assert_eq!(u.push(&smile[..3]), "");
        assert_eq!(u.push(b"x"), "x", "a broken sequence is dropped when a non-continuation byte follows");
        u.push(&smile[..2]);
        u.finish();
        assert_eq!(u.push(b"ok"), "ok");
    }

    #[test]
    fn think_blocks_are_dropped_across_pieces() {
        let mut t = ThinkFilter::default();
        let mut out = String::new();
        for p in ["<thi", "nk>\nreason", "ing</th", "ink>\n\nAnswer <b", " here"] {
            out.push_str(&t.push(p));
        }
        out.push_str(&t.finish());
        assert_eq!(out, "\n\nAnswer <b here");
    }

    #[test]
    fn whole_pipeline() {
        let mut s = SpeechStream::default();
        let mut got = Vec::new();
        for p in ["<think>hmm. ok.</think>", "**Paris** is", " the capital. ", "It has 2.1", " million 👍 people."] {
            got.extend(s.push_bytes(p.as_bytes()));
        }
        got.extend(s.finish());
        assert_eq!(got, vec!["Paris is the capital.", "It has 2.1 million people."]);
    }
}
