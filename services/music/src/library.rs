//! The library index: every audio file under the library folder with its tags, and every M3U/PLS
//! playlist, kept in one small JSON file that a rescan updates incrementally. A file whose
//! modification time and size are unchanged keeps its entry without being opened; new and changed
//! files are read with `lofty` (tags and duration only, never the audio); files gone are dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use lofty::prelude::*;
use lofty::tag::ItemKey;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::playlist;
use crate::MusicError;

/// File extensions indexed as music (lower case).
pub const AUDIO_EXTENSIONS: &[&str] = &["mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "wav"];
/// Playlist extensions.
pub const PLAYLIST_EXTENSIONS: &[&str] = &["m3u", "m3u8", "pls"];
/// Bumped when the index format changes: an index of another version is rebuilt.
const INDEX_VERSION: u32 = 1;

/// One audio file and what its tags say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// Path relative to the library folder.
    pub path: PathBuf,
    /// Modification time, milliseconds since the Unix epoch (with `size`, what a rescan compares).
    pub mtime_ms: i64,
    /// File size, bytes.
    pub size: u64,
    /// The title tag, else the file name without its extension.
    pub title: String,
    #[serde(default)]
    pub artist: Option<String>,
    #[serde(default)]
    pub album_artist: Option<String>,
    #[serde(default)]
    pub album: Option<String>,
    #[serde(default)]
    pub genre: Option<String>,
    #[serde(default)]
    pub track_number: Option<u32>,
    #[serde(default)]
    pub disc_number: Option<u32>,
    /// Length, milliseconds (0 when the file did not say).
    #[serde(default)]
    pub duration_ms: u64,
}

impl Track {
    /// The artist to name: the track's, else the album's.
    pub fn artist_name(&self) -> Option<&str> {
        self.artist.as_deref().or(self.album_artist.as_deref())
    }

    /// "Blue in Green by Miles Davis", or the title alone.
    pub fn describe(&self) -> String {
        match self.artist_name() {
            Some(a) => format!("{} by {a}", self.title),
            None => self.title.clone(),
        }
    }
}

/// One playlist file: its name and the tracks it lists (relative paths, existing files only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playlist {
    pub path: PathBuf,
    /// The file name without its extension.
    pub name: String,
    pub mtime_ms: i64,
    pub size: u64,
    /// Entries as written (resolved against the playlist's folder when played).
    pub entries: Vec<String>,
}

/// The whole index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Library {
    pub version: u32,
    /// The folder indexed.
    pub root: PathBuf,
    pub tracks: Vec<Track>,
    pub playlists: Vec<Playlist>,
}

/// What a scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Files read for the first time.
    pub added: usize,
    /// Files read again because their time or size changed.
    pub changed: usize,
    /// Entries dropped because their file is gone.
    pub removed: usize,
    /// Entries kept without opening the file.
    pub unchanged: usize,
    /// Files that could not be read (logged, left out).
    pub unreadable: usize,
    pub elapsed_ms: u64,
}

impl Library {
    /// Reads the index at `path`; a missing, unreadable or older-format file gives an empty index (it is
    /// rebuilt by the next scan, which is what a first start does anyway).
    pub fn load(path: &Path) -> Library {
        let Ok(bytes) = std::fs::read(path) else { return Library::default() };
        match serde_json::from_slice::<Library>(&bytes) {
            Ok(l) if l.version == INDEX_VERSION => l,
            Ok(_) => Library::default(),
            Err(e) => {
                warn!(path = %path.display(), error = %e, "the music index cannot be read; rebuilding it");
                Library::default()
            }
        }
    }

    /// Writes the index atomically (a temporary file renamed over the old one).
    pub fn save(&self, path: &Path) -> Result<(), MusicError> {
        let io = |source| MusicError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(self).map_err(|e| MusicError::Index(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Brings the index up to date with `root`: reuses entries whose file kept its time and size.
    pub fn scan(&self, root: &Path) -> Result<(Library, ScanStats), MusicError> {
        let started = Instant::now();
        if !root.is_dir() {
            return Err(MusicError::NoLibrary { path: root.to_path_buf() });
        }
        let same_root = self.root == root;
        let old_tracks: HashMap<&Path, &Track> =
            if same_root { self.tracks.iter().map(|t| (t.path.as_path(), t)).collect() } else { HashMap::new() };
        let old_playlists: HashMap<&Path, &Playlist> =
            if same_root { self.playlists.iter().map(|p| (p.path.as_path(), p)).collect() } else { HashMap::new() };
        let mut stats = ScanStats::default();
        let mut tracks = Vec::new();
        let mut playlists = Vec::new();
        for file in walk(root) {
            let Ok(rel) = file.path.strip_prefix(root) else { continue };
            let ext = extension(&file.path);
            if AUDIO_EXTENSIONS.contains(&ext.as_str()) {
                match old_tracks.get(rel) {
                    Some(t) if t.mtime_ms == file.mtime_ms && t.size == file.size => {
                        stats.unchanged += 1;
                        tracks.push((*t).clone());
                    }
                    known => match read_track(&file.path, rel, file.mtime_ms, file.size) {
                        Ok(t) => {
                            if known.is_some() { stats.changed += 1 } else { stats.added += 1 }
                            tracks.push(t);
                        }
                        Err(e) => {
                            debug!(path = %file.path.display(), error = %e, "not indexed");
                            stats.unreadable += 1;
                        }
                    },
                }
            } else if PLAYLIST_EXTENSIONS.contains(&ext.as_str()) {
                match old_playlists.get(rel) {
                    Some(p) if p.mtime_ms == file.mtime_ms && p.size == file.size => playlists.push((*p).clone()),
                    _ => match std::fs::read_to_string(&file.path) {
                        Ok(text) => playlists.push(Playlist {
                            path: rel.to_path_buf(),
                            name: stem(rel),
                            mtime_ms: file.mtime_ms,
                            size: file.size,
                            entries: playlist::parse(&text).into_iter().map(|e| e.location).collect(),
                        }),
                        Err(e) => debug!(path = %file.path.display(), error = %e, "playlist not readable"),
                    },
                }
            }
        }
        // Entries whose file is gone, or can no longer be read, leave the index.
        let now: std::collections::HashSet<&Path> = tracks.iter().map(|t| t.path.as_path()).collect();
        stats.removed = old_tracks.keys().filter(|p| !now.contains(*p)).count();
        tracks.sort_by(|a, b| a.path.cmp(&b.path));
        playlists.sort_by(|a, b| a.path.cmp(&b.path));
        stats.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok((Library { version: INDEX_VERSION, root: root.to_path_buf(), tracks, playlists }, stats))
    }

    /// The absolute path of a track.
    pub fn full_path(&self, track: &Track) -> PathBuf {
        self.root.join(&track.path)
    }

    /// The tracks a playlist lists, in its order, that are in the index.
    pub fn playlist_tracks(&self, playlist: &Playlist) -> Vec<usize> {
        let folder = playlist.path.parent().unwrap_or(Path::new(""));
        playlist
            .entries
            .iter()
            .filter_map(|entry| {
                let p = Path::new(entry);
                let rel = if p.is_absolute() { p.strip_prefix(&self.root).ok()?.to_path_buf() } else { normalize_rel(&folder.join(p)) };
                self.tracks.iter().position(|t| t.path == rel)
            })
            .collect()
    }
}

/// `a/./b/../c` as `a/c`, without touching the disk.
fn normalize_rel(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

struct FileEntry {
    path: PathBuf,
    mtime_ms: i64,
    size: u64,
}

/// Every regular file under `root`, following no symbolic links to folders (no loops). Hidden
/// files and folders (".name") are skipped: they hold thumbnails and the like, not music.
fn walk(root: &Path) -> Vec<FileEntry> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            warn!(path = %dir.display(), "cannot list a library folder");
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if let Some(meta) = std::fs::metadata(&path).ok().filter(|m| m.is_file()) {
                let mtime_ms = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64);
                out.push(FileEntry { path, mtime_ms, size: meta.len() });
            }
        }
    }
    out
}

fn extension(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Reads one file's tags and duration.
fn read_track(full: &Path, rel: &Path, mtime_ms: i64, size: u64) -> Result<Track, MusicError> {
    let tagged = lofty::read_from_path(full).map_err(|e| MusicError::Tags { path: full.to_path_buf(), why: e.to_string() })?;
    let duration_ms = tagged.properties().duration().as_millis() as u64;
    let tag = tagged.primary_tag().or_else(|| tagged.first_tag());
    let text = |v: Option<std::borrow::Cow<'_, str>>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (title, artist, album, genre, track_number, disc_number, album_artist) = match tag {
        Some(t) => (
            text(t.title()),
            text(t.artist()),
            text(t.album()),
            text(t.genre()),
            t.track(),
            t.disk(),
            t.get_string(&ItemKey::AlbumArtist).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        ),
        None => (None, None, None, None, None, None, None),
    };
    Ok(Track {
        path: rel.to_path_buf(),
        mtime_ms,
        size,
        title: title.unwrap_or_else(|| stem(rel)),
        artist,
        album_artist,
        album,
        genre,
        track_number,
        disc_number,
        duration_ms,
    })
}
