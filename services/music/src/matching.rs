//! From what the user said to what plays: a song, an artist, an album, a genre, a playlist, or all of
//! it shuffled. Matching is forgiving of what speech recognition makes of titles (case,
//! punctuation, a leading "the", numbers as words, small misspellings) and honest about ties: two
//! equally good songs by different artists give a question back instead of a guess.

use std::collections::BTreeMap;

use crate::library::{Library, Track};
use crate::normalize::{key, similarity};

/// What the request names, when the sentence said so ("the album …", "songs by …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Song,
    Artist,
    Album,
    Genre,
    Playlist,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "song" | "track" | "title" => Some(Kind::Song),
            "artist" | "band" => Some(Kind::Artist),
            "album" | "record" => Some(Kind::Album),
            "genre" | "style" => Some(Kind::Genre),
            "playlist" => Some(Kind::Playlist),
            _ => None,
        }
    }
}

/// A play request as the tool receives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// What was asked for, as heard ("Bohemian Rhapsody by Queen", "the Beatles"); `None` for
    /// "play music".
    pub query: Option<String>,
    /// The artist, when given on its own (the answer to "Do you mean X by A or X by B?").
    pub artist: Option<String>,
    pub kind: Option<Kind>,
}

/// What matched.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Song(usize),
    Artist(String),
    Album { album: String, artist: Option<String> },
    Genre(String),
    Playlist(usize),
    Everything,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Play these tracks (library indices) in this order.
    Play { selection: Selection, tracks: Vec<usize> },
    /// Two equally good matches: ask which (`question` is the finished sentence).
    Ambiguous { question: String },
    Nothing,
}

/// A match must be at least this alike (1 = equal): about one wrong letter in five.
const MIN_SIMILARITY: f32 = 0.8;
/// Keys this short must match exactly: one letter off is another word.
const SHORT_KEY: usize = 4;
/// Scores closer than this are a tie.
const TIE: f32 = 1e-3;

/// Words that mean "anything from the library".
const EVERYTHING: &[&str] = &[
    "", "music", "my music", "some music", "songs", "some songs", "my songs", "something", "anything", "everything",
    "my library", "my music library", "tunes", "some tunes", "my collection", "all my music", "all music",
];

pub fn find(library: &Library, request: &Request) -> Found {
    let query = request.query.as_deref().map(clean_query).unwrap_or_default();
    if request.artist.is_none() && EVERYTHING.contains(&query.as_str()) {
        return Found::Play { selection: Selection::Everything, tracks: (0..library.tracks.len()).collect() };
    }
    let mut candidates = Vec::new();
    // The whole query as one name, then "title by artist" split at each " by " (titles contain
    // "by" too: "Stand by Me").
    candidates.extend(score_all(library, &query, request.artist.as_deref(), request.kind));
    if request.artist.is_none() {
        let words: Vec<&str> = query.split(' ').collect();
        for (i, w) in words.iter().enumerate() {
            if *w == "by" && i > 0 && i + 1 < words.len() {
                let (title, artist) = (words[..i].join(" "), words[i + 1..].join(" "));
                candidates.extend(score_all(library, &title, Some(&artist), request.kind));
            }
        }
    }
    let Some(best) = candidates.iter().map(|c| c.score).reduce(f32::max) else { return Found::Nothing };
    let mut top: Vec<&Candidate> = candidates.iter().filter(|c| best - c.score < TIE).collect();
    top.sort_by_key(|c| c.rank());
    let first = top[0];
    // Same kind, same name, different artists: ask.
    let rivals: Vec<&Candidate> = top.iter().copied().filter(|c| c.rank() == first.rank()).collect();
    if let Some(question) = question_for(library, &rivals) {
        return Found::Ambiguous { question };
    }
    let selection = first.selection.clone();
    let tracks = tracks_of(library, &selection);
    if tracks.is_empty() {
        return Found::Nothing;
    }
    Found::Play { selection, tracks }
}

/// The tracks a selection plays, in their natural order (album, disc, track number, path).
pub fn tracks_of(library: &Library, selection: &Selection) -> Vec<usize> {
    let mut picked: Vec<usize> = match selection {
        Selection::Song(i) => return vec![*i],
        Selection::Playlist(p) => return library.playlist_tracks(&library.playlists[*p]),
        Selection::Everything => (0..library.tracks.len()).collect(),
        Selection::Artist(a) => indices(library, |t| artists(t).any(|x| key(x) == *a)),
        Selection::Album { album, artist } => indices(library, |t| {
            t.album.as_deref().is_some_and(|x| key(x) == *album)
                && artist.as_ref().is_none_or(|a| artists(t).any(|x| key(x) == *a))
        }),
        Selection::Genre(g) => indices(library, |t| t.genre.as_deref().is_some_and(|x| key(x) == *g)),
    };
    picked.sort_by(|&a, &b| {
        let (a, b) = (&library.tracks[a], &library.tracks[b]);
        (&a.album, a.disc_number, a.track_number, &a.path).cmp(&(&b.album, b.disc_number, b.track_number, &b.path))
    });
    picked
}

fn indices(library: &Library, pred: impl Fn(&Track) -> bool) -> Vec<usize> {
    library.tracks.iter().enumerate().filter(|(_, t)| pred(t)).map(|(i, _)| i).collect()
}

fn artists(t: &Track) -> impl Iterator<Item = &str> {
    t.artist.as_deref().into_iter().chain(t.album_artist.as_deref())
}

/// The query without the words around a name: "the song X" → "X", "X from my library" → "X".
fn clean_query(q: &str) -> String {
    let mut k = crate::normalize::words_of(q).join(" ");
    for suffix in [" from my library", " from my music", " in my library", " on shuffle", " shuffled", " please"] {
        if let Some(s) = k.strip_suffix(suffix) {
            k = s.to_string();
        }
    }
    k
}

#[derive(Debug, Clone)]
struct Candidate {
    selection: Selection,
    score: f32,
}

impl Candidate {
    /// Which kind wins a tie: an artist over an album over a song over a playlist over a genre
    /// ("play Queen" means the band even when a song is called Queen).
    fn rank(&self) -> u8 {
        match self.selection {
            Selection::Artist(_) => 0,
            Selection::Album { .. } => 1,
            Selection::Song(_) => 2,
            Selection::Playlist(_) => 3,
            Selection::Genre(_) => 4,
            Selection::Everything => 5,
        }
    }
}

/// How well `name` (a tag) fits `query` (both already keys); `None` below the threshold.
fn fit(name: &str, query: &str) -> Option<f32> {
    if name.is_empty() || query.is_empty() {
        return None;
    }
    let name_core = name_without_extras(name);
    let best = similarity(name, query).max(similarity(&name_core, query));
    let short = name_core.chars().filter(|c| *c != ' ').count() <= SHORT_KEY;
    if short && best < 1.0 {
        return None;
    }
    (best >= MIN_SIMILARITY).then_some(best)
}

/// A title without "(Remastered 2011)", "[Live]" or " - Single Version": people leave those out.
fn name_without_extras(k: &str) -> String {
    // Keys have no brackets left; the extras are recognised by their words instead.
    const EXTRAS: &[&str] = &["remastered", "remaster", "live", "single version", "radio edit", "mono", "stereo", "demo", "version", "edit", "mix", "remix"];
    let mut words: Vec<&str> = k.split(' ').collect();
    while words.len() > 1 {
        let last = *words.last().expect("non-empty");
        let is_year_word = matches!(last, "one" | "two" | "three" | "four" | "five" | "six" | "seven" | "eight" | "nine" | "ten" | "eleven" | "twelve" | "thousand" | "hundred") || last.ends_with("teen") || last.ends_with("ty");
        if EXTRAS.contains(&last) || (is_year_word && words.iter().any(|w| EXTRAS.contains(w))) {
            words.pop();
        } else {
            break;
        }
    }
    words.join(" ")
}

/// Every name in the library that fits `query` (and `artist`, when given).
fn score_all(library: &Library, query: &str, artist: Option<&str>, kind: Option<Kind>) -> Vec<Candidate> {
    let query = key(query);
    let artist = artist.map(key).filter(|a| !a.is_empty());
    let wants = |k: Kind| kind.is_none_or(|want| want == k);
    let artist_fit = |t: &Track| match &artist {
        None => Some(1.0),
        Some(a) => artists(t).filter_map(|x| fit(&key(x), a)).reduce(f32::max),
    };
    let mut out = Vec::new();
    if query.is_empty() {
        // "something by X": the artist alone.
        if let Some(a) = &artist {
            out.extend(artist_candidates(library, a));
        }
        return out;
    }
    if wants(Kind::Song) {
        for (i, t) in library.tracks.iter().enumerate() {
            if let (Some(s), Some(a)) = (fit(&key(&t.title), &query), artist_fit(t)) {
                out.push(Candidate { selection: Selection::Song(i), score: (s + a) / 2.0 + if artist.is_some() { 0.01 } else { 0.0 } });
            }
        }
    }
    if artist.is_some() {
        // "Abbey Road by the Beatles": an album by that artist.
        if wants(Kind::Album) {
            out.extend(album_candidates(library, &query, artist.as_deref()));
        }
        return out;
    }
    if wants(Kind::Artist) {
        out.extend(artist_candidates(library, &query));
    }
    if wants(Kind::Album) {
        out.extend(album_candidates(library, &query, None));
    }
    if wants(Kind::Genre) {
        let mut seen = BTreeMap::new();
        for t in &library.tracks {
            if let Some(g) = t.genre.as_deref().map(key) {
                if let Some(s) = fit(&g, &query).or_else(|| fit(&g, query.strip_suffix(" music").unwrap_or(&query))) {
                    seen.insert(g, s);
                }
            }
        }
        out.extend(seen.into_iter().map(|(g, score)| Candidate { selection: Selection::Genre(g), score }));
    }
    if wants(Kind::Playlist) {
        let q = query.strip_suffix(" playlist").unwrap_or(&query);
        for (i, p) in library.playlists.iter().enumerate() {
            if let Some(score) = fit(&key(&p.name), q) {
                out.push(Candidate { selection: Selection::Playlist(i), score });
            }
        }
    }
    out
}

fn artist_candidates(library: &Library, query: &str) -> Vec<Candidate> {
    let mut seen: BTreeMap<String, f32> = BTreeMap::new();
    for t in &library.tracks {
        for a in artists(t) {
            let k = key(a);
            if let Some(s) = fit(&k, query) {
                seen.insert(k, s);
            }
        }
    }
    seen.into_iter().map(|(a, score)| Candidate { selection: Selection::Artist(a), score }).collect()
}

fn album_candidates(library: &Library, query: &str, artist: Option<&str>) -> Vec<Candidate> {
    let mut seen: BTreeMap<(String, Option<String>), f32> = BTreeMap::new();
    for t in &library.tracks {
        let Some(album) = t.album.as_deref().map(key) else { continue };
        let Some(s) = fit(&album, query) else { continue };
        let album_artist = t.album_artist.as_deref().or(t.artist.as_deref()).map(key);
        let a = match artist {
            None => 1.0,
            Some(want) => match artists(t).filter_map(|x| fit(&key(x), want)).reduce(f32::max) {
                Some(a) => a,
                None => continue,
            },
        };
        seen.insert((album, album_artist), (s + a) / 2.0);
    }
    seen.into_iter().map(|((album, artist), score)| Candidate { selection: Selection::Album { album, artist }, score }).collect()
}

/// "Do you mean X by A or X by B?" when equally good songs or albums have different artists.
fn question_for(library: &Library, rivals: &[&Candidate]) -> Option<String> {
    let mut options: Vec<String> = Vec::new();
    let mut artists_seen: Vec<String> = Vec::new();
    for c in rivals {
        let (text, artist) = match &c.selection {
            Selection::Song(i) => {
                let t = &library.tracks[*i];
                (t.describe(), t.artist_name().map(key).unwrap_or_default())
            }
            Selection::Album { album, artist } => {
                let shown = display_album(library, album, artist.as_deref());
                (shown, artist.clone().unwrap_or_default())
            }
            _ => return None,
        };
        if !artists_seen.contains(&artist) {
            artists_seen.push(artist);
            options.push(text);
        }
    }
    match options.len() {
        0 | 1 => None,
        2 => Some(format!("Do you mean {} or {}?", options[0], options[1])),
        n => Some(format!("Do you mean {}, or one of {} others?", options[..2].join(", "), n - 2)),
    }
}

/// "the album Abbey Road by The Beatles", spelled as the tags spell it.
fn display_album(library: &Library, album_key: &str, artist_key: Option<&str>) -> String {
    let t = library.tracks.iter().find(|t| {
        t.album.as_deref().is_some_and(|a| key(a) == album_key)
            && artist_key.is_none_or(|k| t.album_artist.as_deref().or(t.artist.as_deref()).is_some_and(|a| key(a) == k))
    });
    match t {
        Some(t) => match t.album_artist.as_deref().or(t.artist.as_deref()) {
            Some(a) => format!("the album {} by {a}", t.album.as_deref().unwrap_or_default()),
            None => format!("the album {}", t.album.as_deref().unwrap_or_default()),
        },
        None => format!("the album {album_key}"),
    }
}

/// The finished sentence that announces a selection.
pub fn announce(library: &Library, selection: &Selection, tracks: &[usize], shuffled: bool) -> String {
    let verb = if shuffled { "Shuffling" } else { "Playing" };
    match selection {
        Selection::Song(i) => format!("Playing {}.", library.tracks[*i].describe()),
        Selection::Artist(a) => {
            let shown = tracks.first().and_then(|&i| {
                let t = &library.tracks[i];
                artists(t).find(|x| key(x) == *a).map(str::to_string)
            });
            format!("{verb} songs by {}.", shown.unwrap_or_else(|| a.clone()))
        }
        Selection::Album { album, artist } => format!("{verb} {}.", display_album(library, album, artist.as_deref())),
        Selection::Genre(g) => {
            let shown = tracks.first().and_then(|&i| library.tracks[i].genre.clone()).unwrap_or_else(|| g.clone());
            format!("{verb} {} from your library.", shown.to_lowercase())
        }
        Selection::Playlist(p) => format!("{verb} your playlist {}.", library.playlists[*p].name),
        Selection::Everything => {
            let n = tracks.len();
            format!("Shuffling your music: {} {}.", hearth_node::words::number(n as u64), if n == 1 { "song" } else { "songs" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Playlist;
    use std::path::PathBuf;

    fn track(title: &str, artist: &str, album: &str, genre: &str, n: u32) -> Track {
        Track {
            path: PathBuf::from(format!("{artist}/{album}/{n:02} {title}.mp3")),
            mtime_ms: 0,
            size: 0,
            title: title.into(),
            artist: Some(artist.into()),
            album_artist: None,
            album: Some(album.into()),
            genre: Some(genre.into()),
            track_number: Some(n),
            disc_number: None,
            duration_ms: 1000,
        }
    }

    fn library() -> Library {
        let tracks = vec![
            track("Blue in Green", "Miles Davis", "Kind of Blue", "Jazz", 3),
            track("So What", "Miles Davis", "Kind of Blue", "Jazz", 1),
            track("Yesterday", "The Beatles", "Help!", "Rock", 13),
            track("Yesterday", "Boyz II Men", "II", "R&B", 9),
            track("Come Together", "The Beatles", "Abbey Road", "Rock", 1),
            track("Route 66", "Chuck Berry", "Rockin' at the Hops", "Rock and Roll", 4),
            track("Stand by Me", "Ben E. King", "Don't Play That Song", "Soul", 1),
            track("Whole Lotta Love", "Led Zeppelin", "Led Zeppelin II", "Rock", 1),
            track("Bohemian Rhapsody (Remastered 2011)", "Queen", "A Night at the Opera", "Rock", 11),
        ];
        let playlists = vec![Playlist {
            path: "Road Trip.m3u".into(),
            name: "Road Trip".into(),
            mtime_ms: 0,
            size: 0,
            entries: vec!["Chuck Berry/Rockin' at the Hops/04 Route 66.mp3".into(), "Queen/A Night at the Opera/11 Bohemian Rhapsody (Remastered 2011).mp3".into()],
        }];
        Library { version: 1, root: "/music".into(), tracks, playlists }
    }

    fn play(l: &Library, q: &str) -> (Selection, Vec<usize>) {
        match find(l, &Request { query: Some(q.into()), ..Default::default() }) {
            Found::Play { selection, tracks } => (selection, tracks),
            other => panic!("{q:?}: {other:?}"),
        }
    }

    #[test]
    fn songs_artists_albums_genres_playlists() {
        let l = library();
        assert_eq!(play(&l, "blue in green").0, Selection::Song(0));
        assert_eq!(play(&l, "Miles Davis"), (Selection::Artist("miles davis".into()), vec![1, 0]));
        assert_eq!(play(&l, "the beatles").0, Selection::Artist("beatles".into()));
        assert_eq!(play(&l, "kind of blue").0, Selection::Album { album: "kind of blue".into(), artist: Some("miles davis".into()) });
        assert_eq!(play(&l, "jazz").0, Selection::Genre("jazz".into()));
        assert_eq!(play(&l, "road trip playlist"), (Selection::Playlist(0), vec![5, 8]));
        assert_eq!(play(&l, "music").0, Selection::Everything);
        assert_eq!(find(&l, &Request::default()), Found::Play { selection: Selection::Everything, tracks: (0..9).collect() });
    }

    #[test]
    fn forgiving_of_what_speech_recognition_writes() {
        let l = library();
        assert_eq!(play(&l, "route sixty six").0, Selection::Song(5));
        assert_eq!(play(&l, "Led Zepplin").0, Selection::Artist("led zeppelin".into()));
        assert_eq!(play(&l, "bohemian rhapsody").0, Selection::Song(8));
        assert_eq!(play(&l, "Bohemian Rhapsody by Queen").0, Selection::Song(8));
        assert_eq!(play(&l, "stand by me").0, Selection::Song(6), "'by' inside a title");
        assert_eq!(play(&l, "yesterday by the beatles").0, Selection::Song(2));
        assert_eq!(play(&l, "Come Together!").0, Selection::Song(4));
        assert_eq!(find(&l, &Request { query: Some("bolero".into()), ..Default::default() }), Found::Nothing);
        assert_eq!(play(&l, "queens").0, Selection::Artist("queen".into()));
        assert_eq!(play(&l, "soul").0, Selection::Genre("soul".into()));
        assert_eq!(find(&l, &Request { query: Some("soup".into()), ..Default::default() }), Found::Nothing, "short names match exactly");
    }

    #[test]
    fn ties_ask_back_and_the_answer_decides() {
        let l = library();
        let q = find(&l, &Request { query: Some("yesterday".into()), ..Default::default() });
        assert_eq!(q, Found::Ambiguous { question: "Do you mean Yesterday by The Beatles or Yesterday by Boyz II Men?".into() });
        // What speech recognition writes for "Boyz II Men" is near enough.
        let answer = Request { query: Some("yesterday".into()), artist: Some("boys to men".into()), kind: None };
        assert!(matches!(find(&l, &answer), Found::Play { selection: Selection::Song(3), .. }));
        let answer = Request { query: Some("yesterday".into()), artist: Some("Metallica".into()), kind: None };
        assert_eq!(find(&l, &answer), Found::Nothing);
        let by_artist = Request { query: None, artist: Some("miles davis".into()), kind: Some(Kind::Artist) };
        assert!(matches!(find(&l, &by_artist), Found::Play { selection: Selection::Artist(_), .. }));
    }

    #[test]
    fn announcements_are_sentences() {
        let l = library();
        let (s, t) = play(&l, "miles davis");
        assert_eq!(announce(&l, &s, &t, true), "Shuffling songs by Miles Davis.");
        let (s, t) = play(&l, "kind of blue");
        assert_eq!(announce(&l, &s, &t, false), "Playing the album Kind of Blue by Miles Davis.");
        let (s, t) = play(&l, "jazz");
        assert_eq!(announce(&l, &s, &t, false), "Playing jazz from your library.");
        let (s, t) = play(&l, "music");
        assert_eq!(announce(&l, &s, &t, true), "Shuffling your music: nine songs.");
    }
}
