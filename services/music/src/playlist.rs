//! M3U (plain and extended) and PLS playlists: the library's playlist files, and the playlists
//! internet radio stations hand out instead of a stream.

/// One playlist entry: a path or URL, and its title when the playlist gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub location: String,
    pub title: Option<String>,
}

/// Parses either format (PLS is recognised by its `[playlist]` header); lines that are neither
/// entries nor known directives are ignored.
pub fn parse(text: &str) -> Vec<Entry> {
    let text = text.trim_start_matches('\u{feff}');
    if text.lines().any(|l| l.trim().eq_ignore_ascii_case("[playlist]")) {
        parse_pls(text)
    } else {
        parse_m3u(text)
    }
}

fn parse_m3u(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut title = None;
    for line in text.lines().map(str::trim) {
        if let Some(info) = line.strip_prefix("#EXTINF:") {
            // `#EXTINF:<seconds>,<artist - title>`
            title = info.split_once(',').map(|(_, t)| t.trim().to_string()).filter(|t| !t.is_empty());
        } else if line.is_empty() || line.starts_with('#') {
            continue;
        } else {
            out.push(Entry { location: line.to_string(), title: title.take() });
        }
    }
    out
}

fn parse_pls(text: &str) -> Vec<Entry> {
    let mut files: Vec<(u32, String)> = Vec::new();
    let mut titles: Vec<(u32, String)> = Vec::new();
    for line in text.lines().map(str::trim) {
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim().to_ascii_lowercase();
        let number = |prefix: &str| key.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = number("file") {
            files.push((n, value.trim().to_string()));
        } else if let Some(n) = number("title") {
            titles.push((n, value.trim().to_string()));
        }
    }
    files.sort_by_key(|(n, _)| *n);
    files
        .into_iter()
        .map(|(n, location)| Entry { location, title: titles.iter().find(|(t, _)| *t == n).map(|(_, s)| s.clone()) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m3u_plain_and_extended() {
        let e = parse("#EXTM3U\n#EXTINF:123,Miles Davis - So What\njazz/so_what.mp3\n\n# comment\nother.flac\n");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0], Entry { location: "jazz/so_what.mp3".into(), title: Some("Miles Davis - So What".into()) });
        assert_eq!(e[1].title, None);
    }

    #[test]
    fn pls_in_number_order() {
        let e = parse("[playlist]\nNumberOfEntries=2\nFile2=http://b/stream\nFile1=http://a/stream\nTitle1=Jazz FM\nVersion=2\n");
        assert_eq!(e.iter().map(|e| e.location.as_str()).collect::<Vec<_>>(), ["http://a/stream", "http://b/stream"]);
        assert_eq!(e[0].title.as_deref(), Some("Jazz FM"));
    }
}
