//! `hearth bench music`: what the music service and the speaker's mixer cost. Index time per 1000
//! files (first scan and an unchanged rescan), decode CPU per hour of audio for each format, and
//! the mixer's CPU per second of output. The files are made here with ffmpeg (one tagged tone per
//! format, copied to the asked count), so the figures are on a warm page cache: a NAS adds its own
//! latency to the first scan.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use hearth_audio::music::{MixerSettings, MusicMixer};
use hearth_bus::audio::samples_to_pcm;
use hearth_bus::music::MusicChunk;
use hearth_music::decode::Decoder;
use hearth_music::library::Library;

#[derive(Args)]
pub struct MusicBenchArgs {
    /// Files in the generated library.
    #[arg(long, default_value_t = 1000)]
    pub files: usize,
    /// Length of each format's decode sample, seconds.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f32,
    /// Speaker rate to decode and mix at, Hertz.
    #[arg(long, default_value_t = 48_000)]
    pub rate: u32,
    /// Keep the generated files here instead of a temporary folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Also measure the wake word's hit rate on "hey jarvis" (espeak-ng, several voices and speeds)
    /// mixed with music at the unducked and the ducked level (needs the openWakeWord models and ONNX
    /// Runtime, as `hearth bench wake` does).
    #[arg(long)]
    pub wake: bool,
}

/// (extension, ffmpeg codec arguments).
const FORMATS: &[(&str, &[&str])] = &[
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"]),
    ("flac", &["-c:a", "flac"]),
    ("ogg", &["-c:a", "libvorbis", "-q:a", "5"]),
    ("m4a", &["-c:a", "aac", "-b:a", "192k"]),
    ("wav", &["-c:a", "pcm_s16le"]),
    ("opus", &["-c:a", "libopus", "-b:a", "128k"]),
];

pub fn run(args: MusicBenchArgs) -> anyhow::Result<ExitCode> {
    if Command::new("ffmpeg").arg("-version").output().map(|o| !o.status.success()).unwrap_or(true) {
        bail!("hearth bench music makes its test files with ffmpeg: apt-get install ffmpeg");
    }
    let temp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempdir()?;
            temp.0.clone()
        }
    };
    println!("music bench: {} files, decode and mix at {} Hz, in {}", args.files, args.rate, dir.display());
    let samples = make_samples(&dir.join("samples"), args.seconds)?;

    // Index: a library of `files` copies (44.1 kHz stereo, 3 s), spread over folders as albums are.
    let library = dir.join("library");
    let short = make_samples(&dir.join("short"), 3.0)?;
    for i in 0..args.files {
        let src = &short[i % short.len()];
        let folder = library.join(format!("Artist {}", i / 100)).join(format!("Album {}", i / 10));
        std::fs::create_dir_all(&folder)?;
        let ext = src.extension().and_then(|e| e.to_str()).unwrap_or("mp3");
        std::fs::copy(src, folder.join(format!("{:02} Track {i}.{ext}", i % 10)))?;
    }
    let started = Instant::now();
    let (indexed, stats) = Library::default().scan(&library)?;
    let first = started.elapsed();
    let started = Instant::now();
    let (_, again) = indexed.scan(&library)?;
    let rescan = started.elapsed();
    // Milliseconds per 1000 files.
    let per_1000 = |d: Duration| d.as_secs_f64() * 1000.0 * 1000.0 / args.files.max(1) as f64;
    println!();
    println!("index ({} files, {} unreadable)", stats.added, stats.unreadable);
    println!("  first scan       {:>8.1} ms per 1000 files (tags read from every file)", per_1000(first));
    println!("  unchanged rescan {:>8.1} ms per 1000 files ({} files reused, none opened)", per_1000(rescan), again.unchanged);

    println!();
    println!("decode to mono {} Hz, CPU per hour of audio (one core)", args.rate);
    for path in &samples {
        let cpu = thread_cpu_seconds();
        let mut decoder = Decoder::open(path, args.rate).with_context(|| path.display().to_string())?;
        let mut produced = 0usize;
        while let Some(block) = decoder.next_block()? {
            produced += block.len();
        }
        let used = thread_cpu_seconds() - cpu;
        let audio_s = produced as f64 / args.rate as f64;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("?");
        println!("  {ext:<5} {:>7.1} s per hour  ({:.2} % of a core)", used / audio_s * 3600.0, used / audio_s * 100.0);
    }

    println!();
    println!("mixing under speech at {} Hz, CPU per second of output", args.rate);
    for (label, chunk_rate) in [("music at the speaker rate", args.rate), ("music at 44.1 kHz, resampled", 44_100)] {
        let ms = mix_cost(args.rate, chunk_rate, 60.0);
        println!("  {label:<30} {ms:>6.2} ms per second");
    }
    if args.wake {
        wake_under_music()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Hit rate of hey_jarvis (score at least 0.5) on espeak-ng speech alone, and under music at the mic
/// as loud as the speech (music playing normally: 0 dB speech-to-music) and 20 dB quieter (ducked by
/// the default -20 dB). The music is synthetic (arpeggiated chords over a bass line).
fn wake_under_music() -> anyhow::Result<()> {
    use hearth_wake::testkit;
    const FIRE: f32 = 0.5;
    let (Some(dir), Some(lib)) = (testkit::real_oww_dir(), testkit::onnxruntime()) else {
        bail!("the wake word part needs the openWakeWord models and ONNX Runtime (see `hearth bench wake`)");
    };
    let mut detector = testkit::detector_for(&dir, &lib);
    let chords: [&[f64]; 4] = [&[261.6, 329.6, 392.0, 523.3], &[220.0, 261.6, 329.6, 440.0], &[174.6, 220.0, 261.6, 349.2], &[196.0, 246.9, 293.7, 392.0]];
    let mut music: Vec<i16> = Vec::new();
    for _ in 0..4 {
        for chord in chords.iter() {
            let arp = testkit::arpeggio(chord, 150, -12.0);
            let bass = testkit::tone(chord[0] / 2.0, arp.len() as f64 / 16_000.0, -18.0);
            music.extend(arp.iter().zip(&bass).map(|(a, b)| a.saturating_add(*b)));
        }
    }
    let mut clips = Vec::new();
    for voice in ["en-us", "en-gb", "en-us+f2", "en-us+m3", "en-gb+f4"] {
        for wpm in [130, 150, 170, 190] {
            if let Some(speech) = testkit::espeak("hey jarvis", voice, wpm) {
                clips.push(speech);
            }
        }
    }
    if clips.is_empty() {
        bail!("espeak-ng is needed for the wake word part");
    }
    let jarvis = |detector: &mut hearth_wake::WakeDetector, audio: &[i16]| {
        testkit::max_scores(detector, audio).into_iter().find(|(w, _)| w.starts_with("hey_jarvis")).map_or(0.0, |(_, s)| s)
    };
    println!();
    println!("wake word under music: hey_jarvis on {} espeak-ng clips (5 voices x 4 speeds), fires at {FIRE}", clips.len());
    for (label, snr) in [("speech alone", None), ("music unducked (0 dB SNR)", Some(0.0)), ("music ducked -20 dB (20 dB SNR)", Some(20.0))] {
        let mut hits = 0;
        let mut scores = Vec::new();
        for clip in &clips {
            let audio = match snr {
                Some(db) => testkit::mix_at_snr(clip, &music, db),
                None => clip.clone(),
            };
            let s = jarvis(&mut detector, &audio);
            scores.push(s);
            hits += usize::from(s >= FIRE);
        }
        scores.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        println!("  {label:<32} {hits:>2}/{} hit ({:>5.1} %), median score {:.2}", clips.len(), 100.0 * hits as f64 / clips.len() as f64, scores[scores.len() / 2]);
    }
    let alone = jarvis(&mut detector, &music);
    println!("  music alone ({:.0} s): highest hey_jarvis score {alone:.3}", music.len() as f64 / 16_000.0);
    Ok(())
}

/// One tagged tone per format, `seconds` long, 44.1 kHz stereo (so every decode resamples and
/// downmixes; Opus is always 48 kHz inside).
fn make_samples(dir: &Path, seconds: f32) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for (i, (ext, codec)) in FORMATS.iter().enumerate() {
        let path = dir.join(format!("sample.{ext}"));
        if !path.exists() {
            let status = Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
                .arg(format!("sine=frequency={}:sample_rate={}:duration={seconds}", 300 + 100 * i, if *ext == "opus" { 48_000 } else { 44_100 }))
                .args(["-ac", "2"])
                .args(*codec)
                .args(["-metadata", "title=Bench Tone", "-metadata", "artist=Hearth", "-metadata", "album=Bench", "-metadata", "genre=Test"])
                .arg(&path)
                .status()?;
            if !status.success() {
                bail!("ffmpeg could not make {}", path.display());
            }
        }
        out.push(path);
    }
    Ok(out)
}

/// Mixer CPU per second of output, milliseconds: `seconds` of music in 100 ms chunks, rendered in 10 ms
/// blocks over speech, ducked half of the time.
fn mix_cost(out_rate: u32, chunk_rate: u32, seconds: f32) -> f64 {
    let settings = MixerSettings {
        duck_db: -20.0,
        duck_ramp_ms: 60,
        restore_ramp_ms: 400,
        prebuffer_ms: 200,
        max_buffer_s: 30,
        stall_timeout: Duration::from_secs(5),
    };
    let mut mixer = MusicMixer::new(out_rate, 70, settings);
    let per_chunk = chunk_rate as usize / 10;
    let tone: Vec<i16> = (0..per_chunk).map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16).collect();
    let chunks = (seconds * 10.0) as u32;
    let block = out_rate as usize / 100;
    let mut buf = vec![0.0f32; block];
    let mut finished = Vec::new();
    let now = Instant::now();
    let cpu = thread_cpu_seconds();
    let mut rendered = 0usize;
    for seq in 0..chunks {
        let chunk = MusicChunk { stream_id: "bench".into(), seq, sample_rate_hz: chunk_rate, channels: 1, pcm: samples_to_pcm(&tone), last: seq + 1 == chunks };
        let _ = mixer.push_chunk(chunk, now);
        // Ten 10 ms blocks per 100 ms chunk, speech in the buffer, ducked every other second.
        for _ in 0..10 {
            buf.iter_mut().enumerate().for_each(|(i, s)| *s = (i as f32 * 0.01).sin() * 0.1);
            mixer.set_ducked((seq / 10) % 2 == 1);
            rendered += mixer.render(&mut buf, false, now, &mut finished);
        }
    }
    let used = thread_cpu_seconds() - cpu;
    used * 1000.0 / (rendered.max(1) as f64 / out_rate as f64)
}

/// CPU time of the calling thread (user + system), seconds.
fn thread_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a rusage into the pointer it is given; RUSAGE_THREAD is valid on Linux.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A temporary folder removed on drop (the cli has no tempfile dependency outside tests).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> anyhow::Result<TempDir> {
    let dir = std::env::temp_dir().join(format!("hearth-bench-music-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(TempDir(dir))
}
