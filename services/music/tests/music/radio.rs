//! Internet radio against a local HTTP server standing in for the radio-browser directory and the
//! stations: a station found by name and by genre, through a .pls playlist, streamed into the
//! speaker; a dead station, a corrupt stream and an unreachable directory each give a short spoken
//! reason and leave the speaker free.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearth_audio::config::Pacing;
use hearth_audio::AudioConfig;
use hearth_bus::music::{MusicSource, MusicState, PlaybackState};
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::{Bus, BusClient, BusConfig, Inbox, Shutdown};
use hearth_music::radio::{self, Http, RadioError};
use hearth_music::MusicConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::util::{tone_share, write_tone, Made};

const SITE: &str = "den";
const WAIT: Duration = Duration::from_secs(20);
const RATE: u32 = 16_000;
const STATION_HZ: u32 = 700;

/// Serves fixed bodies by path; `/json/stations/search` answers from `stations` by the `name` or
/// `tag` asked for.
async fn serve(files: HashMap<&'static str, (&'static str, Vec<u8>)>, stations: HashMap<String, serde_json::Value>) -> SocketAddr {
    serve_at("127.0.0.1:0".parse().unwrap(), files, stations).await
}

async fn serve_at(at: SocketAddr, files: HashMap<&'static str, (&'static str, Vec<u8>)>, stations: HashMap<String, serde_json::Value>) -> SocketAddr {
    let listener = TcpListener::bind(at).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (files, stations) = (Arc::new(files), Arc::new(stations));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (files, stations) = (files.clone(), stations.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_string();
                let target = line.split(' ').nth(1).unwrap_or("/").to_string();
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let (ctype, body) = if path == "/json/stations/search" {
                    let params: HashMap<String, String> = query
                        .split('&')
                        .filter_map(|p| p.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.replace('+', " ").replace("%20", " ").to_lowercase()))
                        .collect();
                    let key = params.get("name").map(|n| format!("name:{n}")).or(params.get("tag").map(|t| format!("tag:{t}"))).unwrap_or_default();
                    ("application/json", stations.get(&key).cloned().unwrap_or(json!([])).to_string().into_bytes())
                } else if let Some((t, b)) = files.get(path) {
                    (*t, b.clone())
                } else {
                    let _ = sock.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
                    return;
                };
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    addr
}

/// Like [`serve`], with `/jazz.pls` naming the server's own `/jazz.mp3` (its address is known only
/// once bound).
async fn serve_with_playlist(mut files: HashMap<&'static str, (&'static str, Vec<u8>)>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    files.insert("/jazz.pls", ("audio/x-scpls", format!("[playlist]\nNumberOfEntries=1\nFile1=http://{addr}/jazz.mp3\nTitle1=Jazz FM\n").into_bytes()));
    serve_at(addr, files, HashMap::new()).await
}

async fn call(client: &BusClient, inbox: &mut Inbox, tool: &str, arguments: serde_json::Value, n: u32) -> ToolResult {
    let call = ToolCall { call_id: format!("c{n}"), session_id: None, tool: tool.into(), arguments };
    client.publish_on(hearth_bus::tool::call_topic(SITE, tool), &call).await.unwrap();
    let id = format!("c{n}");
    let e = inbox.next_matching(WAIT, |e| e.decode::<ToolResult>().is_some_and(|r| r.call_id == id)).await.expect("tool result");
    e.decode().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn radio_by_name_and_genre_and_failures_said_plainly() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("jazz.mp3");
    let m = Made { rel: "jazz.mp3".into(), title: "live", artist: "Jazz FM", album: "", genre: "Jazz", track: 1, freq_hz: STATION_HZ };
    write_tone(&stream, &m, 20.0);
    // The server's address goes into its own answers: bind first, then fill in.
    let probe_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/stream", probe_listener.local_addr().unwrap());
    drop(probe_listener); // nothing listens there any more: a dead station
    // The stations' server: the stream, its playlist, and a stream that is not audio.
    let mp3 = std::fs::read(&stream).unwrap();
    let media_listener_addr = {
        let mut files: HashMap<&'static str, (&'static str, Vec<u8>)> = HashMap::new();
        files.insert("/jazz.mp3", ("audio/mpeg", mp3));
        files.insert("/broken", ("audio/mpeg", vec![0x42; 50_000]));
        files.insert("/jazz.pls", ("audio/x-scpls", Vec::new()));
        files
    };
    let media = serve_with_playlist(media_listener_addr).await;
    // The directory: an exact name wins over a more popular near miss that is marked broken anyway.
    let jazz = json!([{"name": "Smooth Jazz FM Radio", "url_resolved": "http://nowhere.invalid/x", "lastcheckok": 0},
                      {"name": "Jazz FM", "url": format!("http://{media}/jazz.pls"), "url_resolved": "", "lastcheckok": 1}]);
    let mut stations = HashMap::new();
    stations.insert("name:jazz fm".to_string(), jazz.clone());
    stations.insert("tag:bebop".to_string(), jazz);
    stations.insert("name:dead radio".to_string(), json!([{"name": "Dead Radio", "url_resolved": dead}]));
    stations.insert("name:broken radio".to_string(), json!([{"name": "Broken Radio", "url_resolved": format!("http://{media}/broken")}]));
    let directory = serve(HashMap::new(), stations).await;

    let broker = (0..5).find_map(|_| hearth_broker::start_on_free_ports().ok()).expect("broker starts");
    let bus = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (probe, probe_conn) = Bus::connect_tool(&bus, "probe", SITE).unwrap();
    let Bus { client, mut inbox } = probe;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe("hearth/#").await.unwrap();
    let out = dir.path().join("speaker.wav");
    let audio_config = AudioConfig {
        input: "none".into(),
        output: format!("file:{}", out.display()),
        output_pacing: Pacing::Realtime,
        file_sample_rate_hz: RATE,
        ..AudioConfig::default()
    };
    let (audio_bus, audio_conn) = Bus::connect_starting(&bus, "audio", SITE).unwrap();
    let audio_stop = Shutdown::new();
    let audio = tokio::spawn(hearth_audio::run(audio_config, audio_bus, audio_stop.clone()));
    let library = dir.path().join("empty library");
    std::fs::create_dir_all(&library).unwrap();
    let config = MusicConfig {
        library_dir: Some(library),
        radio_directory_url: format!("http://{directory}"),
        radio_timeout_ms: 3000,
        data_dir: Some(dir.path().join("data")),
        ..MusicConfig::default()
    };
    let (music_bus, music_conn) = Bus::connect_starting(&bus, "music", SITE).unwrap();
    let music_stop = Shutdown::new();
    let music = tokio::spawn(hearth_music::run(config, music_bus, music_stop.clone()));
    inbox
        .next_matching(WAIT, |e| e.topic.ends_with("service/music/status") && String::from_utf8_lossy(&e.payload).contains("online"))
        .await
        .expect("music online");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Not in the (empty) library: the directory finds the station by name, through its playlist.
    let r = call(&client, &mut inbox, "play_music", json!({"query": "Jazz FM"}), 1).await;
    assert_eq!((r.ok, r.sentence.as_str()), (true, "Playing Jazz FM, an internet station."));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = call(&client, &mut inbox, "now_playing", json!({}), 2).await;
    assert_eq!(r.sentence, "This is Jazz FM, an internet station.");
    let state: MusicState = serde_json::from_value(r.data.unwrap()).unwrap();
    assert_eq!((state.state, state.source, state.station.as_deref()), (PlaybackState::Playing, Some(MusicSource::Radio), Some("Jazz FM")));
    // By genre, as a radio request.
    let r = call(&client, &mut inbox, "play_music", json!({"query": "bebop", "kind": "radio"}), 3).await;
    assert_eq!(r.sentence, "Playing Jazz FM, an internet station.");
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Failures: a short reason each, and nothing left playing.
    let r = call(&client, &mut inbox, "play_music", json!({"query": "dead radio"}), 4).await;
    assert_eq!((r.ok, r.sentence.as_str()), (false, "I can't play Dead Radio right now: the station can't be reached."));
    let r = call(&client, &mut inbox, "play_music", json!({"query": "broken radio"}), 5).await;
    assert_eq!((r.ok, r.sentence.as_str()), (false, "I can't play Broken Radio right now: it is not in a format I can play."));
    let r = call(&client, &mut inbox, "play_music", json!({"query": "nothing like it"}), 6).await;
    assert_eq!((r.ok, r.sentence.as_str()), (false, "I couldn't find nothing like it in your music or on internet radio."));
    let r = call(&client, &mut inbox, "now_playing", json!({}), 7).await;
    assert_eq!(r.sentence, "Nothing is playing.");

    music_stop.trigger();
    let _ = tokio::time::timeout(WAIT, music).await;
    music_conn.close().await;
    audio_stop.trigger();
    let _ = tokio::time::timeout(WAIT, audio).await;
    audio_conn.close().await;
    probe_conn.close().await;

    // The station's tone reached the speaker.
    let samples: Vec<f32> = hound::WavReader::open(&out).unwrap().samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect();
    let heard = samples.chunks_exact(RATE as usize / 10).filter(|w| tone_share(w, RATE, STATION_HZ) > 0.5).count();
    assert!(heard >= 15, "{heard} windows of the station");
}

#[tokio::test]
async fn an_unreachable_directory_is_said_as_such() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let http = Http { client: reqwest::Client::new(), runtime: tokio::runtime::Handle::current(), timeout: Duration::from_secs(3) };
    let err = radio::search(&http, &base, "jazz").await.unwrap_err();
    assert!(matches!(err, RadioError::DirectoryUnreachable));
    assert_eq!(err.to_string(), "internet radio can't be reached right now");
}
