//! Indexing the generated library and decoding it: tags in every format, incremental rescans,
//! decoding at the speaker's rate, and damaged files that cost themselves, nothing more.

use std::collections::HashMap;
use std::path::Path;

use hearth_music::decode::Decoder;
use hearth_music::library::Library;
use hearth_music::matching::{find, Found, Request, Selection};

use super::util::{make_library, tone_share, write_tone, FORMATS};

#[test]
fn every_format_is_indexed_from_its_tags() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_library(dir.path(), 0.5);
    let (library, stats) = Library::default().scan(dir.path()).unwrap();
    assert_eq!(stats.added, made.len(), "{stats:?}");
    assert_eq!(stats.unreadable, 0);
    assert_eq!(library.tracks.len(), made.len());
    assert_eq!(library.playlists.len(), 1);
    let by_path: HashMap<&Path, _> = library.tracks.iter().map(|t| (t.path.as_path(), t)).collect();
    for m in &made {
        let t = by_path.get(m.rel.as_path()).unwrap_or_else(|| panic!("{} not indexed", m.rel.display()));
        assert_eq!(t.title, m.title, "{}", m.rel.display());
        assert_eq!(t.artist.as_deref(), Some(m.artist), "{}", m.rel.display());
        assert_eq!(t.album.as_deref(), Some(m.album), "{}", m.rel.display());
        assert_eq!(t.genre.as_deref(), Some(m.genre), "{}", m.rel.display());
        assert_eq!(t.track_number, Some(m.track), "{}", m.rel.display());
        assert!((400..=700).contains(&t.duration_ms), "{}: {} ms", m.rel.display(), t.duration_ms);
    }
    // The index survives a save and a load unchanged.
    let path = dir.path().join("state/index.json");
    library.save(&path).unwrap();
    assert_eq!(Library::load(&path), library);
}

#[test]
fn rescans_open_only_new_and_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_library(dir.path(), 0.3);
    let (first, _) = Library::default().scan(dir.path()).unwrap();
    let (again, stats) = first.scan(dir.path()).unwrap();
    assert_eq!((stats.added, stats.changed, stats.removed, stats.unchanged), (0, 0, 0, made.len()));
    assert_eq!(again, first);

    // One retagged, one removed, one added, one damaged file added.
    let mut retagged = made[0].clone();
    retagged.title = "So What (Take 2)";
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_tone(&dir.path().join(&retagged.rel), &retagged, 0.4);
    std::fs::remove_file(dir.path().join(&made[1].rel)).unwrap();
    let mut new = made[2].clone();
    new.rel = "New/Arrival.flac".into();
    new.title = "Arrival";
    write_tone(&dir.path().join(&new.rel), &new, 0.3);
    std::fs::write(dir.path().join("New/broken.mp3"), b"ID3\x03\x00garbage that is not audio").unwrap();

    let (after, stats) = again.scan(dir.path()).unwrap();
    assert_eq!((stats.added, stats.changed, stats.removed, stats.unchanged), (1, 1, 1, made.len() - 2), "{stats:?}");
    assert_eq!(stats.unreadable, 1, "the damaged file is counted, not indexed");
    assert!(after.tracks.iter().any(|t| t.title == "So What (Take 2)"));
    assert!(after.tracks.iter().any(|t| t.title == "Arrival"));
    assert!(!after.tracks.iter().any(|t| t.path == made[1].rel));
}

#[test]
fn every_format_decodes_to_its_tone_at_the_speaker_rate() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_library(dir.path(), 0.5);
    let rate = 22_050;
    for (ext, _) in FORMATS {
        let m = made.iter().find(|m| m.rel.extension().unwrap() == *ext).unwrap();
        let mut decoder = Decoder::open(&dir.path().join(&m.rel), rate).unwrap_or_else(|e| panic!("{ext}: {e}"));
        let mut samples = Vec::new();
        while let Some(block) = decoder.next_block().unwrap_or_else(|e| panic!("{ext}: {e}")) {
            samples.extend(block);
        }
        // Encoders pad a little (priming, frame rounding); half a second give or take 60 ms.
        let ms = samples.len() as u64 * 1000 / rate as u64;
        assert!((440..=600).contains(&ms), "{ext}: {ms} ms");
        let share = tone_share(&samples[1000..samples.len() - 1000], rate, m.freq_hz);
        assert!(share > 0.8, "{ext}: {} Hz tone is {share:.2} of the power", m.freq_hz);
    }
}

#[test]
fn damaged_files_are_an_error_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_library(dir.path(), 0.5);
    let garbage = dir.path().join("garbage.mp3");
    std::fs::write(&garbage, vec![0x5a; 20_000]).unwrap();
    let err = Decoder::open(&garbage, 22_050).err().expect("garbage is refused").to_string();
    assert_eq!(err, "it is not in a format I can play");
    // A file cut in half plays what is there and ends.
    let wav = made.iter().find(|m| m.rel.extension().unwrap() == "wav").unwrap();
    let path = dir.path().join(&wav.rel);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let mut decoder = Decoder::open(&path, 22_050).unwrap();
    let mut n = 0;
    while let Ok(Some(b)) = decoder.next_block() {
        n += b.len();
    }
    assert!(n > 0 && n < 22_050 / 2 + 2000, "{n} samples");
}

#[test]
fn requests_find_the_generated_tracks() {
    let dir = tempfile::tempdir().unwrap();
    make_library(dir.path(), 0.2);
    let (library, _) = Library::default().scan(dir.path()).unwrap();
    let ask = |q: &str| find(&library, &Request { query: Some(q.into()), ..Default::default() });
    let title = |f: &Found| match f {
        Found::Play { selection: Selection::Song(i), .. } => library.tracks[*i].title.clone(),
        other => format!("{other:?}"),
    };
    assert_eq!(title(&ask("route sixty six")), "Route 66");
    assert_eq!(title(&ask("harder better faster stronger")), "Harder, Better, Faster, Stronger");
    assert_eq!(title(&ask("thirty nine")), "39");
    assert_eq!(title(&ask("stairway to heaven by led zeppelin")), "Stairway to Heaven");
    assert!(matches!(ask("yesterday"), Found::Ambiguous { .. }));
    assert!(matches!(ask("kraftwerk"), Found::Play { selection: Selection::Artist(_), ref tracks } if tracks.len() == 3));
    assert!(matches!(ask("electronic music"), Found::Play { selection: Selection::Genre(_), ref tracks } if tracks.len() == 7));
    assert!(matches!(ask("road trip"), Found::Play { selection: Selection::Playlist(_), ref tracks } if tracks.len() == 2));
}
