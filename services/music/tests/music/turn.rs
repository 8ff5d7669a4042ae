//! Whole turns over a real broker: the brain (typed transcripts, fast path), the music service, the
//! audio service playing into a WAV file in real time, and a stand-in TTS that answers every
//! sentence with a 3 kHz tone. "Play something by Nina Simone" → music reaches the speaker →
//! "pause" → the speaker gets nothing → "resume" → music again → a reply ducks the music by about
//! 20 dB, measured in the output → "stop".

use std::path::Path;
use std::time::Duration;

use hearth_audio::config::Pacing;
use hearth_audio::AudioConfig;
use hearth_brain::BrainConfig;
use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::audio::{samples_to_pcm, PlayChunk};
use hearth_bus::music::{MusicAction, MusicControl, MusicState, PlaybackState};
use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::tool::ToolResult;
use hearth_bus::tts::Say;
use hearth_bus::{Bus, BusClient, BusConfig, Connection, Inbox, Shutdown};
use hearth_music::MusicConfig;
use tokio::task::JoinHandle;

use super::util::{tone_share, write_tone, Made};

const SITE: &str = "kitchen";
const WAIT: Duration = Duration::from_secs(20);
const RATE: u32 = 16_000;
/// The stand-in voice.
const SPEECH_HZ: u32 = 3000;

struct Running {
    shutdown: Shutdown,
    task: JoinHandle<()>,
    conn: Connection,
}

impl Running {
    async fn stop(self) {
        self.shutdown.trigger();
        let _ = tokio::time::timeout(WAIT, self.task).await;
        self.conn.close().await;
    }
}

async fn start<F, Fut, E>(bus: &BusConfig, name: &str, run: F) -> Running
where
    F: FnOnce(Bus, Shutdown) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    // As `hearth up` does: "online" only once the service says it is ready.
    let (b, conn) = Bus::connect_starting(bus, name, SITE).unwrap();
    b.client.wait_connected(WAIT).await.unwrap();
    let shutdown = Shutdown::new();
    let fut = run(b, shutdown.clone());
    let name = name.to_string();
    let task = tokio::spawn(async move {
        if let Err(e) = fut.await {
            panic!("{name} failed: {e}");
        }
    });
    Running { shutdown, task, conn }
}

/// The stand-in TTS: every sentence becomes 1.5 s of a 3 kHz tone; an empty closing sentence an
/// empty closing chunk.
async fn fake_tts(bus: BusConfig) -> (JoinHandle<()>, Connection) {
    let (b, conn) = Bus::connect_tool(&bus, "fake-tts", SITE).unwrap();
    let Bus { client, mut inbox } = b;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe(format!("hearth/{SITE}/tts/say")).await.unwrap();
    let task = tokio::spawn(async move {
        while let Some(e) = inbox.recv().await {
            let Some(say) = e.decode::<Say>() else { continue };
            let samples: Vec<i16> = if say.text.is_empty() {
                Vec::new()
            } else {
                (0..RATE * 3 / 2).map(|i| ((i as f32 * SPEECH_HZ as f32 * 2.0 * std::f32::consts::PI / RATE as f32).sin() * 0.3 * 32767.0) as i16).collect()
            };
            let chunk = PlayChunk {
                utterance_id: say.utterance_id,
                session_id: say.session_id,
                seq: say.seq,
                sample_rate_hz: RATE,
                channels: 1,
                pcm: samples_to_pcm(&samples),
                last: say.last,
            };
            client.publish(SITE, &chunk).await.unwrap();
        }
    });
    (task, conn)
}

async fn say(client: &BusClient, inbox: &mut Inbox, text: &str, n: usize) -> ToolResult {
    let session_id = format!("s{n}");
    let t = Transcript { session_id: session_id.clone(), text: text.into(), source: TranscriptSource::Typed, audio_ms: 0, processing_ms: 0 };
    client.publish(SITE, &t).await.unwrap();
    let e = inbox
        .next_matching(WAIT, |e| e.decode::<ToolResult>().is_some_and(|r| r.session_id.as_deref() == Some(session_id.as_str())))
        .await
        .unwrap_or_else(|| panic!("no tool result for {text:?}"));
    e.decode().unwrap()
}

async fn state_where(inbox: &mut Inbox, pred: impl Fn(&MusicState) -> bool) -> MusicState {
    let e = inbox.next_matching(WAIT, |e| e.decode::<MusicState>().is_some_and(|s| pred(&s))).await.expect("music state");
    e.decode().unwrap()
}

async fn wait_online(inbox: &mut Inbox, service: &str) {
    let topic = status_topic(SITE, service);
    inbox
        .next_matching(WAIT, |e| e.topic == topic && e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Online))
        .await
        .unwrap_or_else(|| panic!("{service} did not come online"));
}

fn wav_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Level of `freq_hz` in a window, dB (Goertzel amplitude).
fn tone_db(window: &[f32], freq_hz: u32) -> f32 {
    let share = tone_share(window, RATE, freq_hz);
    let power: f32 = window.iter().map(|x| x * x).sum::<f32>() / window.len() as f32;
    10.0 * (share * power).max(1e-12).log10()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn play_pause_resume_and_duck_on_one_speaker() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
    if !super::util::have_ffmpeg() {
        panic!("ffmpeg is needed to generate the test library: apt-get install ffmpeg (scripts/test.sh does)");
    }
    let broker = (0..5).find_map(|_| hearth_broker::start_on_free_ports().ok()).expect("broker starts");
    let bus = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let dir = tempfile::tempdir().unwrap();
    let music_dir = dir.path().join("music");
    // Three songs by one artist, a tone each; one by another artist.
    let songs = [("Sinnerman", "Nina Simone", 440u32, "flac"), ("Be My Husband", "Nina Simone", 550, "mp3"), ("Feeling Good", "Nina Simone", 660, "ogg"), ("So What", "Miles Davis", 880, "wav")];
    for (i, (title, artist, freq_hz, ext)) in songs.iter().enumerate() {
        let m = Made { rel: format!("{artist}/{i} {title}.{ext}").into(), title, artist, album: "Tones", genre: "Test", track: i as u32 + 1, freq_hz: *freq_hz };
        write_tone(&music_dir.join(&m.rel), &m, 12.0);
    }
    let out = dir.path().join("speaker.wav");

    let (probe, probe_conn) = Bus::connect_tool(&bus, "probe", SITE).unwrap();
    let Bus { client, mut inbox } = probe;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe("hearth/#").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let audio_config = AudioConfig {
        input: "none".into(),
        output: format!("file:{}", out.display()),
        output_pacing: Pacing::Realtime,
        file_sample_rate_hz: RATE,
        volume_percent: 100,
        ..AudioConfig::default()
    };
    let audio = start(&bus, "audio", |b, s| hearth_audio::run(audio_config, b, s)).await;
    wait_online(&mut inbox, "audio").await;
    let music_config = MusicConfig { library_dir: Some(music_dir.clone()), radio: false, data_dir: Some(dir.path().join("data")), ..MusicConfig::default() };
    let music = start(&bus, "music", |b, s| hearth_music::run(music_config, b, s)).await;
    wait_online(&mut inbox, "music").await;
    let (tts, tts_conn) = fake_tts(bus.clone()).await;
    let brain = start(&bus, "brain", |b, s| hearth_brain::run(BrainConfig::default(), b, s)).await;
    wait_online(&mut inbox, "brain").await;
    // The first scan runs in the background: wait until the index is on disk.
    let index = dir.path().join("data/music/index.json");
    for _ in 0..200 {
        if index.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // "Play something by Nina Simone": one of her three songs, shuffled.
    let r = say(&client, &mut inbox, "play something by Nina Simone", 1).await;
    assert!(r.ok, "{}", r.sentence);
    assert_eq!(r.sentence, "Shuffling songs by Nina Simone.");
    let playing = state_where(&mut inbox, |s| s.state == PlaybackState::Playing && s.title.is_some()).await;
    assert_eq!(playing.artist.as_deref(), Some("Nina Simone"));
    tokio::time::sleep(Duration::from_secs(3)).await;

    // "Pause": nothing more reaches the speaker.
    let r = say(&client, &mut inbox, "pause the music", 2).await;
    assert!(r.ok, "{}", r.sentence);
    state_where(&mut inbox, |s| s.state == PlaybackState::Paused).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paused_at = wav_len(&out);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let grown = wav_len(&out) - paused_at;
    assert!(grown < 2 * RATE as u64 / 10, "{grown} bytes written while paused");
    let r = say(&client, &mut inbox, "what's playing", 3).await;
    assert!(r.sentence.starts_with("Paused: "), "{}", r.sentence);

    // "Resume": music again, then a reply while it plays.
    let r = say(&client, &mut inbox, "resume the music", 4).await;
    assert!(r.ok, "{}", r.sentence);
    state_where(&mut inbox, |s| s.state == PlaybackState::Playing).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = say(&client, &mut inbox, "what song is this", 5).await;
    assert!(r.sentence.starts_with("This is ") && r.sentence.contains("by Nina Simone"), "{}", r.sentence);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Automations: the same controls on the bus, nothing said.
    client.publish(SITE, &MusicControl { action: MusicAction::Toggle, query: None }).await.unwrap();
    state_where(&mut inbox, |s| s.state == PlaybackState::Paused).await;
    client.publish(SITE, &MusicControl { action: MusicAction::Toggle, query: None }).await.unwrap();
    state_where(&mut inbox, |s| s.state == PlaybackState::Playing).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // "Stop" (the brain's own stop): the music stops too.
    client.publish(SITE, &Transcript { session_id: "s6".into(), text: "stop".into(), source: TranscriptSource::Typed, audio_ms: 0, processing_ms: 0 }).await.unwrap();
    state_where(&mut inbox, |s| s.state == PlaybackState::Stopped).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    brain.stop().await;
    music.stop().await;
    audio.stop().await;
    tts.abort();
    tts_conn.close().await;
    probe_conn.close().await;

    // The speaker's output, in 100 ms windows: which song tone, and whether the voice is there.
    let samples: Vec<f32> = hound::WavReader::open(&out).unwrap().samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect();
    let windows: Vec<&[f32]> = samples.chunks_exact(RATE as usize / 10).collect();
    let music_db = |w: &[f32]| [440, 550, 660].iter().map(|&f| tone_db(w, f)).fold(f32::MIN, f32::max);
    let speech: Vec<bool> = windows.iter().map(|w| tone_db(w, SPEECH_HZ) > -30.0).collect();
    let music_windows = windows.iter().filter(|w| music_db(w) > -40.0).count();
    assert!(music_windows >= 40, "{music_windows} windows of music (at least 4 s expected)");
    assert!(windows.iter().all(|w| tone_db(w, 880) < -50.0), "Miles Davis never played");
    // Ducking: music under the voice against music alone, windows well inside each stretch.
    let mut under = Vec::new();
    let mut alone = Vec::new();
    for (i, window) in windows.iter().enumerate().take(windows.len().saturating_sub(3)).skip(3) {
        let around = |v: bool| speech[i - 3..=i + 3].iter().all(|&s| s == v);
        let m = music_db(window);
        if m < -60.0 {
            continue;
        }
        if around(true) {
            under.push(m);
        } else if around(false) {
            alone.push(m);
        }
    }
    assert!(!under.is_empty() && !alone.is_empty(), "under {under:?} alone {alone:?}");
    let median = |v: &mut Vec<f32>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let drop_db = median(&mut alone) - median(&mut under);
    eprintln!("music alone {:.1} dB, under speech {:.1} dB: ducked by {drop_db:.1} dB", median(&mut alone), median(&mut under));
    assert!((17.0..=23.0).contains(&drop_db), "ducked by {drop_db:.1} dB, expected about 20");
}
