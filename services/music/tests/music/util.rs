//! The generated test library: short sine tones in every format the service reads, tagged by ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One generated file.
#[derive(Debug, Clone)]
pub struct Made {
    pub rel: PathBuf,
    pub title: &'static str,
    pub artist: &'static str,
    pub album: &'static str,
    pub genre: &'static str,
    pub track: u32,
    /// The tone's frequency, Hertz: each file has its own, so the output says which one played.
    pub freq_hz: u32,
}

/// (artist, album, genre, titles) of the test library.
const ALBUMS: &[(&str, &str, &str, &[&str])] = &[
    ("Miles Davis", "Kind of Blue", "Jazz", &["So What", "Freddie Freeloader", "Blue in Green", "All Blues"]),
    ("The Beatles", "Help!", "Rock", &["Help!", "Yesterday", "Ticket to Ride", "I've Just Seen a Face"]),
    ("Boyz II Men", "II", "R&B", &["Thank You", "Yesterday", "On Bended Knee"]),
    ("Chuck Berry", "Rockin' at the Hops", "Rock and Roll", &["Route 66", "Maybellene", "Johnny B. Goode"]),
    ("Led Zeppelin", "Led Zeppelin IV", "Rock", &["Black Dog", "Rock and Roll", "Stairway to Heaven", "Misty Mountain Hop"]),
    ("Nina Simone", "Pastel Blues", "Jazz", &["Be My Husband", "Nobody's Fault but Mine", "Sinnerman"]),
    ("Daft Punk", "Discovery", "Electronic", &["One More Time", "Aerodynamic", "Digital Love", "Harder, Better, Faster, Stronger"]),
    ("Queen", "A Night at the Opera", "Rock", &["Bohemian Rhapsody (Remastered 2011)", "You're My Best Friend", "39"]),
    ("Ella Fitzgerald", "Ella in Berlin", "Jazz", &["Mack the Knife", "Summertime", "How High the Moon"]),
    ("Kraftwerk", "Computer World", "Electronic", &["Numbers", "Computer Love", "Pocket Calculator"]),
];

/// The formats, taken in turn, and the ffmpeg arguments that make each.
pub const FORMATS: &[(&str, &[&str])] = &[
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "3"]),
    ("flac", &["-c:a", "flac"]),
    ("ogg", &["-c:a", "libvorbis", "-q:a", "0"]),
    ("m4a", &["-c:a", "aac", "-b:a", "64k"]),
    ("wav", &["-c:a", "pcm_s16le"]),
    ("opus", &["-c:a", "libopus", "-b:a", "32k"]),
];

/// Whether ffmpeg is installed (scripts/test.sh installs it).
pub fn have_ffmpeg() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success())
}

/// Makes the library under `dir` (34 files, every format) and a playlist; returns what it made.
pub fn make_library(dir: &Path, seconds: f32) -> Vec<Made> {
    assert!(have_ffmpeg(), "ffmpeg is needed to generate the test library: apt-get install ffmpeg (scripts/test.sh does)");
    let mut made = Vec::new();
    let mut n = 0usize;
    for (artist, album, genre, titles) in ALBUMS {
        for (i, title) in titles.iter().enumerate() {
            let (ext, _) = FORMATS[n % FORMATS.len()];
            let freq_hz = 200 + 40 * n as u32;
            let rel = PathBuf::from(artist).join(album).join(format!("{:02} {}.{ext}", i + 1, safe(title)));
            let m = Made { rel, title, artist, album, genre, track: i as u32 + 1, freq_hz };
            write_tone(&dir.join(&m.rel), &m, seconds);
            made.push(m);
            n += 1;
        }
    }
    std::fs::write(
        dir.join("Road Trip.m3u"),
        format!("#EXTM3U\n{}\n{}\n", made[12].rel.display(), made[29].rel.display()),
    )
    .unwrap();
    made
}

/// Writes one tagged tone (44.1 kHz stereo, so every file is resampled and downmixed).
pub fn write_tone(path: &Path, m: &Made, seconds: f32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ext = path.extension().unwrap().to_str().unwrap();
    let (_, codec) = FORMATS.iter().find(|(e, _)| *e == ext).unwrap();
    let rate = if ext == "opus" { 48_000 } else { 44_100 };
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency={}:sample_rate={rate}:duration={seconds}", m.freq_hz))
        .args(["-ac", "2"])
        .args(*codec)
        .args(["-metadata", &format!("title={}", m.title)])
        .args(["-metadata", &format!("artist={}", m.artist)])
        .args(["-metadata", &format!("album={}", m.album)])
        .args(["-metadata", &format!("genre={}", m.genre)])
        .args(["-metadata", &format!("track={}", m.track)])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
}

fn safe(title: &str) -> String {
    title.chars().map(|c| if c.is_alphanumeric() || c == ' ' { c } else { '_' }).collect()
}

/// Power of `freq_hz` in `samples` (Goertzel), relative to the total power: near 1 for a pure tone.
pub fn tone_share(samples: &[f32], rate_hz: u32, freq_hz: u32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * freq_hz as f32 / rate_hz as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let total: f32 = samples.iter().map(|x| x * x).sum::<f32>() * samples.len() as f32 / 2.0;
    if total <= 0.0 { 0.0 } else { power / total }
}
