//! `wikipedia`: the REST summary of a page (after an opensearch lookup when the topic is not a title),
//! cut to its first sentence or two and cleaned for speech: no parentheticals (pronunciations, dates,
//! translations), no bracketed notes, no markup.

use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use thiserror::Error;

use crate::http::{FetchError, Http};

/// The `[tools.wikipedia]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WikipediaConfig {
    /// Wiki root; `{language}` is replaced by `language`.
    pub base_url: String,
    /// Wikipedia edition (language code, e.g. `en`, `de`, `simple`).
    pub language: String,
    /// At most this many sentences are read (1–5).
    pub max_sentences: usize,
    /// The second and later sentences are read only while the answer stays under this many characters.
    pub max_chars: usize,
}

impl Default for WikipediaConfig {
    fn default() -> Self {
        Self { base_url: "https://{language}.wikipedia.org".into(), language: "en".into(), max_sentences: 2, max_chars: 320 }
    }
}

impl WikipediaConfig {
    /// The wiki root with the language filled in.
    pub fn base(&self) -> Result<Url, String> {
        crate::http::parse_base(&self.base_url.replace("{language}", &self.language))
    }

    /// Checks the table; errors name the key under `tools.wikipedia`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let key = |k: &str| format!("tools.wikipedia.{k}");
        if self.language.is_empty() || !self.language.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return Err((key("language"), "must be a Wikipedia language code such as \"en\"".into()));
        }
        self.base().map_err(|why| (key("base_url"), why))?;
        if !(1..=5).contains(&self.max_sentences) {
            return Err((key("max_sentences"), "must be between 1 and 5".into()));
        }
        if self.max_chars < 40 {
            return Err((key("max_chars"), "must be at least 40".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum WikipediaError {
    #[error("no topic given")]
    NoTopic,
    #[error("nothing found for {0}")]
    NotFound(String),
    #[error("Wikipedia: {0}")]
    Fetch(#[from] FetchError),
}

impl WikipediaError {
    /// What the assistant says instead.
    pub fn sentence(&self) -> String {
        match self {
            WikipediaError::NoTopic => "What should I look up on Wikipedia?".into(),
            WikipediaError::NotFound(topic) => format!("I couldn't find anything on Wikipedia about {topic}."),
            WikipediaError::Fetch(e) if e.is_unreachable() => unreachable_sentence(),
            WikipediaError::Fetch(_) => "Wikipedia sent an answer I couldn't read.".into(),
        }
    }
}

/// Spoken when Wikipedia does not answer in time.
pub fn unreachable_sentence() -> String {
    "I couldn't reach Wikipedia right now.".into()
}

/// What kind of page the summary came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Article,
    /// "Mercury may refer to: …": the topic is ambiguous.
    Disambiguation,
}

/// A finished Wikipedia answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub title: String,
    pub kind: PageKind,
    pub sentence: String,
    pub data: Value,
}

#[derive(Debug, Deserialize)]
struct SummaryAnswer {
    #[serde(rename = "type", default)]
    kind: String,
    title: String,
    #[serde(default)]
    extract: String,
    #[serde(default)]
    content_urls: Option<Value>,
}

/// Looks `topic` up: the summary of the page of that title, else of opensearch's best match.
pub async fn lookup(http: &Http, config: &WikipediaConfig, topic: &str) -> Result<Summary, WikipediaError> {
    let topic = topic.trim();
    if topic.is_empty() {
        return Err(WikipediaError::NoTopic);
    }
    let base = config.base().map_err(FetchError::Malformed)?;
    let answer = match summary(http, &base, topic).await? {
        Some(answer) => answer,
        None => {
            let title = search(http, &base, topic).await?.ok_or_else(|| WikipediaError::NotFound(topic.to_owned()))?;
            summary(http, &base, &title).await?.ok_or_else(|| WikipediaError::NotFound(topic.to_owned()))?
        }
    };
    let url = answer.content_urls.as_ref().and_then(|u| u.pointer("/desktop/page")).and_then(Value::as_str).map(str::to_owned);
    let title = clean(&answer.title);
    let (kind, sentence) = if answer.kind == "disambiguation" {
        (PageKind::Disambiguation, format!("{title} can mean several things on Wikipedia. Which one do you mean?"))
    } else {
        let text = speakable(&answer.extract, config.max_sentences, config.max_chars);
        if text.is_empty() {
            return Err(WikipediaError::NotFound(topic.to_owned()));
        }
        (PageKind::Article, text)
    };
    let data = json!({
        "title": title,
        "kind": if kind == PageKind::Article { "article" } else { "disambiguation" },
        "url": url,
        "language": config.language,
    });
    Ok(Summary { title, kind, sentence, data })
}

/// `None` when there is no page of that title.
async fn summary(http: &Http, base: &Url, title: &str) -> Result<Option<SummaryAnswer>, FetchError> {
    let mut url = base.clone();
    let page = title.replace(' ', "_");
    url.path_segments_mut()
        .map_err(|_| FetchError::Malformed("base URL cannot take a path".into()))?
        .pop_if_empty()
        .extend(["api", "rest_v1", "page", "summary", page.as_str()]);
    match http.json::<SummaryAnswer>(url).await {
        Ok(answer) => Ok(Some(answer)),
        Err(FetchError::Status(StatusCode::NOT_FOUND)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The title opensearch ranks first, if any.
async fn search(http: &Http, base: &Url, topic: &str) -> Result<Option<String>, FetchError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|_| FetchError::Malformed("base URL cannot take a path".into()))?
        .pop_if_empty()
        .extend(["w", "api.php"]);
    url.query_pairs_mut()
        .append_pair("action", "opensearch")
        .append_pair("search", topic)
        .append_pair("limit", "1")
        .append_pair("namespace", "0")
        .append_pair("redirects", "resolve")
        .append_pair("format", "json");
    // ["query", ["Title", …], ["description", …], ["url", …]]
    let answer: Value = http.json(url).await?;
    let titles = answer.get(1).and_then(Value::as_array).ok_or_else(|| FetchError::Malformed("opensearch answer has no titles".into()))?;
    Ok(titles.first().and_then(Value::as_str).map(str::to_owned).filter(|t| !t.trim().is_empty()))
}

/// The first sentence of `extract`, plus following ones up to `max_sentences` while the whole stays
/// within `max_chars`, cleaned for speech.
pub fn speakable(extract: &str, max_sentences: usize, max_chars: usize) -> String {
    let text = clean(extract);
    let mut out = String::new();
    for (i, s) in sentences(&text).into_iter().enumerate() {
        if i >= max_sentences || (i > 0 && out.len() + 1 + s.len() > max_chars) {
            break;
        }
        if i > 0 {
            out.push(' ');
        }
        out.push_str(s);
    }
    out
}

/// Removes what a listener should not hear: (parentheticals) and [notes] at any depth, /IPA/ between
/// slashes, markup left in the text, and the spaces they leave behind.
pub fn clean(text: &str) -> String {
    let text = strip_tags(text);
    let mut kept = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '[' | '（' | '{' => depth += 1,
            ')' | ']' | '）' | '}' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            'ⓘ' | '\u{200b}' | '\u{200e}' | '\u{200f}' | '\u{ad}' => {}
            '*' | '_' | '|' => kept.push(' '),
            c if c.is_whitespace() => kept.push(' '),
            c => kept.push(c),
        }
    }
    let kept = strip_ipa(&kept);
    let mut out = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    // Gaps left where a parenthetical stood: "Paris , the capital" and "born , 1879".
    for (from, to) in [(" ,", ","), (" .", "."), (" ;", ";"), (" :", ":"), (",,", ","), (", ,", ","), (",.", ".")] {
        while out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out.trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace()).to_owned()
}

/// Drops HTML tags (`<b>`, `</span>`, `<br/>`) but keeps a lone `<` or `>` in text.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let is_tag = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
        match after.find('>') {
            Some(end) if is_tag && end < 200 => {
                out.push_str(&rest[..start]);
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Drops `/…/` spans that hold non-ASCII (IPA) and no spaces at their edges, e.g. "/ˈpærɪs/".
fn strip_ipa(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('/') {
        let after = &rest[start + 1..];
        match after.find('/') {
            Some(end) if end > 0 && end < 60 && !after[..end].is_ascii() && !after.starts_with(' ') => {
                out.push_str(&rest[..start]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Words after which a full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "gen", "col", "lt", "mt", "ft", "vs", "etc", "e.g", "i.e", "c",
    "ca", "approx", "no", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "aug", "sep", "sept", "oct", "nov",
    "dec", "fig", "vol", "op", "rev", "hon", "sgt", "capt", "cf",
];

/// Splits cleaned text into sentences at `.`, `!` or `?` followed by a space and a capital, digit or
/// quote, except after abbreviations and initials ("J. R. R. Tolkien", "U.S. state").
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = text[i + 1..].chars().next();
        let after = text[i + 1..].trim_start().chars().next();
        let at_end = next.is_none();
        let boundary = at_end
            || (next == Some(' ') && after.is_some_and(|a| a.is_uppercase() || a.is_ascii_digit() || a == '"' || a == '“'));
        if !boundary {
            continue;
        }
        if c == '.' {
            let word_start = text[..i].rfind(' ').map_or(0, |p| p + 1).max(start);
            let word = text[word_start..i].trim_matches(|c: char| !c.is_alphanumeric() && c != '.').to_lowercase();
            let initial = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
            if initial || word.contains('.') || ABBREVIATIONS.contains(&word.as_str()) {
                continue;
            }
        }
        let end = i + c.len_utf8();
        let s = text[start..end].trim();
        if !s.is_empty() {
            out.push(s);
        }
        start = end;
    }
    let tail = text[start..].trim();
    if !tail.is_empty() {
        out.push(tail);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_parentheticals_and_pronunciations() {
        let extract = "Albert Einstein (14 March 1879 – 18 April 1955) was a German-born theoretical physicist \
            who is best known for developing the theory of relativity. Einstein also made important contributions \
            to quantum mechanics. His mass–energy equivalence formula E = mc2 has been called the world's most famous equation.";
        assert_eq!(
            speakable(extract, 2, 320),
            "Albert Einstein was a German-born theoretical physicist who is best known for developing the theory of \
             relativity. Einstein also made important contributions to quantum mechanics."
        );
        assert_eq!(
            clean("Paris (French pronunciation: [paʁi] ⓘ) is the capital of France.[1]"),
            "Paris is the capital of France."
        );
        assert_eq!(clean("Tokyo (/ˈtoʊkioʊ/; Japanese: 東京, Tōkyō) is the capital"), "Tokyo is the capital");
        assert_eq!(clean("Nice /ˈniːs/, a city"), "Nice, a city");
        assert_eq!(clean("<b>Bold</b> and/or *star*, 1 < 2"), "Bold and/or star, 1 < 2");
    }

    #[test]
    fn splits_sentences_with_initials_and_abbreviations() {
        let t = "J. R. R. Tolkien was an English writer. He wrote The Hobbit. He died in 1973.";
        assert_eq!(sentences(t), vec!["J. R. R. Tolkien was an English writer.", "He wrote The Hobbit.", "He died in 1973."]);
        let t = "Washington, D.C. is the capital of the U.S. It is on the Potomac.";
        // "U.S." is an abbreviation: we keep the sentences together rather than cut a name.
        assert_eq!(sentences(t).len(), 1);
        assert_eq!(sentences("Dr. Who is a show. It is long."), vec!["Dr. Who is a show.", "It is long."]);
        assert_eq!(speakable("One. Two. Three.", 1, 320), "One.");
        let long = format!("{}. Second.", "a".repeat(330));
        assert_eq!(speakable(&long, 2, 320), format!("{}.", "a".repeat(330)));
    }

    #[test]
    fn validates_config() {
        assert!(WikipediaConfig::default().validate().is_ok());
        assert_eq!(WikipediaConfig::default().base().unwrap().as_str(), "https://en.wikipedia.org/");
        let bad = WikipediaConfig { max_sentences: 0, ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "tools.wikipedia.max_sentences");
        let bad = WikipediaConfig { base_url: "nonsense".into(), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "tools.wikipedia.base_url");
    }
}
