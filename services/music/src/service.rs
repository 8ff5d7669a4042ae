//! The bus side: tool calls and controls in, finished sentences, chunks, flushes and states out; one
//! [`Player`] per site that asked. Producers are polled every few milliseconds for the chunks the
//! flow control allows (no task per stream, and a producer's channel filling up is what holds its
//! decoder back).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hearth_bus::audio::StopPlayback;
use hearth_bus::music::{tools, MusicAction, MusicControl, MusicFeedback, MusicFlush, MusicSink, PlaybackState, RepeatMode};
use hearth_bus::service::ServiceState;
use hearth_bus::tool::{call_filter, ToolCall, ToolResult};
use hearth_bus::{Bus, BusClient, Envelope, Message, Shutdown};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tracing::{info, warn};

use crate::library::{Library, ScanStats};
use crate::matching::{self, Found, Kind, Request, Selection};
use crate::player::{Outbox, Player};
use crate::queue::{Item, Queue};
use crate::stream::Produced;
use crate::{MusicConfig, MusicError};

/// How often producers are polled for chunks.
const PUMP_EVERY: Duration = Duration::from_millis(20);
/// Longest a radio request takes to answer: under the brain's default tool timeout (10 s).
const RADIO_ANSWER_WITHIN: Duration = Duration::from_secs(8);
/// How long a play request waits for a file's first audio before answering anyway.
const FIRST_FILE_AUDIO: Duration = Duration::from_secs(2);

/// A finished answer to a tool call.
struct Answer {
    ok: bool,
    sentence: String,
}

impl Answer {
    fn ok(sentence: impl Into<String>) -> Answer {
        Answer { ok: true, sentence: sentence.into() }
    }
    fn no(sentence: impl Into<String>) -> Answer {
        Answer { ok: false, sentence: sentence.into() }
    }
}

struct Service {
    config: MusicConfig,
    client: BusClient,
    library: Arc<RwLock<Library>>,
    /// Whether the library folder was there at the last scan.
    library_found: bool,
    players: HashMap<String, Player>,
    rates: HashMap<String, u32>,
    http: Option<crate::radio::Http>,
}

/// Runs the music service until shutdown.
pub async fn run(config: MusicConfig, bus: Bus, shutdown: Shutdown) -> Result<(), MusicError> {
    config.validate().map_err(|(key, why)| MusicError::Config { key, why })?;
    let Bus { client, mut inbox } = bus;
    for tool in tools::ALL {
        client.subscribe(call_filter(tool)).await?;
    }
    client.subscribe_all_sites::<MusicFeedback>().await?;
    client.subscribe_all_sites::<MusicSink>().await?;
    client.subscribe_all_sites::<MusicControl>().await?;
    client.subscribe_all_sites::<StopPlayback>().await?;

    let index_path = config.index_path();
    let stored = index_path.as_deref().map(Library::load).unwrap_or_default();
    info!(tracks = stored.tracks.len(), "music index loaded");
    let http = if config.radio {
        let client = reqwest::Client::builder()
            .user_agent(concat!("hearth/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_millis(config.radio_timeout_ms))
            .build()
            .map_err(|e| MusicError::Decode(format!("cannot set up the HTTP client ({e})")))?;
        Some(crate::radio::Http { client, runtime: tokio::runtime::Handle::current(), timeout: Duration::from_millis(config.radio_timeout_ms) })
    } else {
        None
    };
    let (scanned_tx, mut scanned_rx) = mpsc::channel(1);
    let scanner = tokio::spawn(scan_loop(config.library(), index_path, stored.clone(), config.rescan_interval_s, scanned_tx));
    let mut service = Service {
        config,
        client: client.clone(),
        library: Arc::new(RwLock::new(stored)),
        library_found: true,
        players: HashMap::new(),
        rates: HashMap::new(),
        http,
    };
    client.set_capabilities(tools::ALL.iter().map(|t| format!("tool:{t}")).collect()).await?;
    client.set_status(ServiceState::Online, None).await?;
    let mut pump = tokio::time::interval(PUMP_EVERY);
    pump.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = pump.tick() => service.pump().await,
            Some(scan) = scanned_rx.recv() => service.on_scanned(scan),
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                service.on_envelope(&envelope).await;
            }
        }
    }
    scanner.abort();
    for (site, mut player) in service.players.drain() {
        let mut out = Outbox::default();
        player.stop(&mut out);
        let _ = client.publish(&site, &MusicFlush { reason: "stop".into() }).await;
        let _ = client.publish(&site, &player.state_message()).await;
    }
    Ok(())
}

/// Scans at start and every `interval_s`, sending each new index to the service.
async fn scan_loop(
    root: std::path::PathBuf,
    index_path: Option<std::path::PathBuf>,
    mut library: Library,
    interval_s: u64,
    tx: mpsc::Sender<Result<(Library, ScanStats), MusicError>>,
) {
    loop {
        let (old, root2, path) = (library.clone(), root.clone(), index_path.clone());
        let result = tokio::task::spawn_blocking(move || {
            let (new, stats) = old.scan(&root2)?;
            if let Some(p) = path.filter(|_| new != old) {
                new.save(&p)?;
            }
            Ok((new, stats))
        })
        .await
        .unwrap_or_else(|e| Err(MusicError::Index(e.to_string())));
        if let Ok((new, _)) = &result {
            library = new.clone();
        }
        if tx.send(result).await.is_err() || interval_s == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(interval_s)).await;
    }
}

impl Service {
    fn on_scanned(&mut self, scan: Result<(Library, ScanStats), MusicError>) {
        match scan {
            Ok((library, stats)) => {
                info!(tracks = library.tracks.len(), playlists = library.playlists.len(), ?stats, "music library scanned");
                self.library_found = true;
                *self.library.write().unwrap_or_else(|e| e.into_inner()) = library;
            }
            Err(e @ MusicError::NoLibrary { .. }) => {
                warn!(error = %e, "no music library");
                self.library_found = false;
            }
            Err(e) => warn!(error = %e, "music library scan failed"),
        }
    }

    fn player(&mut self, site: &str) -> &mut Player {
        let rate = self.rates.get(site).copied().unwrap_or(self.config.default_rate_hz);
        let (lead, chunk, http) = (self.config.lead_ms, self.config.chunk_ms, self.http.clone());
        self.players.entry(site.to_string()).or_insert_with(|| Player::new(rate, lead, chunk, http))
    }

    async fn on_envelope(&mut self, envelope: &Envelope) {
        let Some(site) = envelope.site().map(str::to_string) else { return };
        if let Some(f) = envelope.decode::<MusicFeedback>() {
            if let Some(p) = self.players.get_mut(&site) {
                let mut out = Outbox::default();
                p.on_feedback(&f, &mut out);
                self.send(&site, out).await;
            }
        } else if let Some(sink) = envelope.decode::<MusicSink>() {
            self.rates.insert(site.clone(), sink.sample_rate_hz);
            if let Some(p) = self.players.get_mut(&site) {
                p.set_rate(sink.sample_rate_hz);
            }
        } else if let Some(stop) = envelope.decode::<StopPlayback>() {
            // "Stop" stops the music; a barge-in or a new turn only ducks it.
            if stop.reason == "user" {
                if let Some(p) = self.players.get_mut(&site) {
                    let mut out = Outbox::default();
                    p.stop(&mut out);
                    self.send(&site, out).await;
                }
            }
        } else if let Some(control) = envelope.decode::<MusicControl>() {
            let args = serde_json::json!({ "query": control.query });
            let tool = match control.action {
                MusicAction::Play => tools::PLAY,
                MusicAction::Pause => tools::PAUSE,
                MusicAction::Resume => tools::RESUME,
                MusicAction::Stop => tools::STOP,
                MusicAction::Next => tools::NEXT,
                MusicAction::Previous => tools::PREVIOUS,
                MusicAction::Toggle if self.players.get(&site).is_some_and(|p| p.state == PlaybackState::Playing) => tools::PAUSE,
                MusicAction::Toggle => tools::RESUME,
                MusicAction::Unknown => {
                    warn!(%site, "unknown music control action, dropped");
                    return;
                }
            };
            let (answer, out) = self.on_tool(&site, tool, &args).await;
            self.send(&site, out).await;
            info!(%site, tool, sentence = %answer.sentence, "music control");
        } else if let Some(call) = envelope.decode::<ToolCall>() {
            let (answer, out) = self.on_tool(&site, &call.tool, &call.arguments).await;
            let data = self.players.get(&site).map(|p| serde_json::to_value(p.state_message()).unwrap_or(Value::Null));
            let result = ToolResult { call_id: call.call_id, session_id: call.session_id, tool: call.tool, ok: answer.ok, sentence: answer.sentence, data };
            // The answer first: the brain starts speaking while the first chunks go out.
            self.publish(&site, &result).await;
            self.send(&site, out).await;
        }
    }

    /// Answers one music tool; what it changed goes out with the returned outbox.
    async fn on_tool(&mut self, site: &str, tool: &str, args: &Value) -> (Answer, Outbox) {
        let library = self.library.clone();
        let library = library.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = Outbox::default();
        let answer = match tool {
            tools::PLAY => self.play(site, &library, args, &mut out).await,
            tools::PAUSE => match self.player(site).pause(&mut out) {
                true => Answer::ok(""),
                false => Answer::no("Nothing is playing."),
            },
            tools::RESUME => match self.player(site).resume(&library, &mut out) {
                true => Answer::ok(""),
                false if self.player(site).state == PlaybackState::Playing => Answer::ok("The music is already playing."),
                false => Answer::no("Nothing is paused."),
            },
            tools::STOP => {
                self.player(site).stop(&mut out);
                Answer::ok("")
            }
            tools::NEXT => match self.player(site).state {
                PlaybackState::Stopped | PlaybackState::Unknown => Answer::no("Nothing is playing."),
                _ => match self.player(site).next(&library, &mut out) {
                    true => Answer::ok(""),
                    false => Answer::no("That was the last song."),
                },
            },
            tools::PREVIOUS => match self.player(site).state {
                PlaybackState::Stopped | PlaybackState::Unknown => Answer::no("Nothing is playing."),
                _ => {
                    self.player(site).previous(&library, &mut out);
                    Answer::ok("")
                }
            },
            tools::NOW_PLAYING => now_playing(self.player(site)),
            tools::SHUFFLE => {
                let on = args.get("on").and_then(Value::as_bool).unwrap_or(true);
                if on && self.player(site).state == PlaybackState::Stopped {
                    self.play(site, &library, &serde_json::json!({ "shuffle": true }), &mut out).await
                } else {
                    self.player(site).queue.set_shuffle(on);
                    out.state_changed = true;
                    Answer::ok(if on { "Shuffle is on." } else { "Shuffle is off." })
                }
            }
            tools::REPEAT => {
                let mode = match args.get("mode").and_then(Value::as_str).unwrap_or("all") {
                    "one" | "song" | "track" => RepeatMode::One,
                    "off" | "none" => RepeatMode::Off,
                    _ => RepeatMode::All,
                };
                self.player(site).set_repeat(mode);
                out.state_changed = true;
                Answer::ok(match mode {
                    RepeatMode::One => "I'll repeat this song.",
                    RepeatMode::Off => "Repeat is off.",
                    _ => "I'll repeat the whole queue.",
                })
            }
            other => Answer::no(format!("I don't know how to do {other}.")),
        };
        (answer, out)
    }

    async fn play(&mut self, site: &str, library: &Library, args: &Value, out: &mut Outbox) -> Answer {
        let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let shuffle = args.get("shuffle").and_then(Value::as_bool).unwrap_or(false);
        let kind_text = text("kind");
        let request = Request { query: text("query"), artist: text("artist"), kind: kind_text.as_deref().and_then(Kind::parse) };
        if kind_text.as_deref() == Some("radio") {
            return match request.query.as_deref() {
                Some(q) => self.play_radio(site, library, q, None, out).await,
                None => Answer::no("Which station should I play?"),
            };
        }
        if library.tracks.is_empty() {
            if let Some(q) = request.query.as_deref().filter(|_| self.http.is_some()) {
                return self.play_radio(site, library, q, Some(q), out).await;
            }
            return Answer::no(if self.library_found { "Your music library is empty." } else { "I can't find your music library." });
        }
        match matching::find(library, &request) {
            Found::Play { selection, tracks } => {
                let shuffled = shuffle || selection == Selection::Everything;
                let sentence = matching::announce(library, &selection, &tracks, shuffled);
                let items: Vec<Item> = tracks.iter().map(|&i| Item::Track(Arc::new(library.tracks[i].clone()))).collect();
                let player = self.player(site);
                let queue = Queue::new(items, shuffled, player.queue.repeat);
                let single = queue.items.len() == 1;
                let first_title = match queue.current() {
                    Some(Item::Track(t)) => t.title.clone(),
                    _ => String::new(),
                };
                player.play(library, queue, out);
                // Opening a file takes milliseconds: a broken one is said now, not found out later.
                match first_audio(player, library, FIRST_FILE_AUDIO, out).await {
                    First::Failed(why) if single => {
                        player.stop(out);
                        Answer::no(format!("I can't play {first_title}: {why}."))
                    }
                    First::Failed(why) => {
                        player.on_produced(library, Some(Produced::Failed(why)), out);
                        Answer::ok(sentence)
                    }
                    First::Audio | First::Late => Answer::ok(sentence),
                }
            }
            Found::Ambiguous { question } => Answer::no(question),
            Found::Nothing => match request.query.as_deref() {
                Some(q) if self.http.is_some() => self.play_radio(site, library, q, Some(q), out).await,
                Some(q) => Answer::no(format!("I couldn't find {q} in your music.")),
                None => Answer::no("I couldn't find that in your music."),
            },
        }
    }

    /// Internet radio by station name or genre. `not_owned`: the library had no match for this (the
    /// answer then says so). Waits for the stream's first audio, so a dead station is said at once;
    /// meanwhile other rooms' streams wait too (at most [`RADIO_ANSWER_WITHIN`]).
    async fn play_radio(&mut self, site: &str, library: &Library, query: &str, not_owned: Option<&str>, out: &mut Outbox) -> Answer {
        let off_or_failed = |why: &str| match not_owned {
            Some(q) => format!("I couldn't find {q} in your music, and {why}."),
            None => format!("I can't play that: {why}."),
        };
        let Some(http) = self.http.clone() else { return Answer::no(off_or_failed("internet radio is off")) };
        let query = query.trim();
        // "jazz radio" is the genre jazz, but "Dead Radio" may be a station's name: the whole first.
        let bare = query.trim_end_matches(" station").trim_end_matches(" radio");
        // The whole answer fits in the brain's wait for a tool (10 s by default).
        let deadline = tokio::time::Instant::now() + RADIO_ANSWER_WITHIN;
        let directory = self.config.radio_directory_url.clone();
        let search = async {
            let found = crate::radio::search(&http, &directory, query).await;
            if matches!(found, Ok(None)) && bare != query && !bare.is_empty() {
                return crate::radio::search(&http, &directory, bare).await;
            }
            found
        };
        let found = tokio::time::timeout_at(deadline, search).await.unwrap_or(Err(crate::radio::RadioError::DirectoryUnreachable));
        let station = match found {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Answer::no(match not_owned {
                    Some(q) => format!("I couldn't find {q} in your music or on internet radio."),
                    None => format!("I couldn't find an internet station called {query}."),
                })
            }
            Err(e) => return Answer::no(off_or_failed(&e.to_string())),
        };
        let name = station.name.clone();
        let player = self.player(site);
        let queue = Queue::new(vec![Item::Station(station)], false, RepeatMode::Off);
        player.play(library, queue, out);
        let left = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_millis(500));
        match first_audio(player, library, left, out).await {
            First::Audio => Answer::ok(format!("Playing {name}, an internet station.")),
            failed => {
                let why = match failed {
                    First::Failed(why) => why,
                    _ => "the station sent nothing".into(),
                };
                player.stop(out);
                Answer::no(format!("I can't play {name} right now: {why}."))
            }
        }
    }

    /// Takes the chunks each player's flow control allows from its producer.
    async fn pump(&mut self) {
        let library = self.library.read().unwrap_or_else(|e| e.into_inner()).clone();
        let sites: Vec<String> = self.players.keys().cloned().collect();
        for site in sites {
            let mut out = Outbox::default();
            let player = self.players.get_mut(&site).expect("listed");
            player.check_speaker(&mut out);
            while player.wants_chunk() {
                let Some(rx) = player.producer_rx() else { break };
                let produced = match rx.try_recv() {
                    Ok(p) => Some(p),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => None,
                };
                player.on_produced(&library, produced, &mut out);
            }
            self.send(&site, out).await;
        }
    }

    async fn send(&self, site: &str, out: Outbox) {
        if let Some(reason) = out.flush {
            self.publish(site, &MusicFlush { reason: reason.into() }).await;
        }
        for chunk in &out.chunks {
            self.publish(site, chunk).await;
        }
        if out.state_changed {
            if let Some(p) = self.players.get(site) {
                self.publish(site, &p.state_message()).await;
            }
        }
    }

    async fn publish<M: Message>(&self, site: &str, msg: &M) {
        if let Err(error) = self.client.publish(site, msg).await {
            warn!(topic = M::SUFFIX, %error, "cannot publish");
        }
    }
}

/// How a new stream began.
enum First {
    /// Its first chunk is on its way out.
    Audio,
    Failed(String),
    /// Nothing yet.
    Late,
}

/// Waits (at most `within`) for the producer's first message and passes a chunk on.
async fn first_audio(player: &mut Player, library: &Library, within: Duration, out: &mut Outbox) -> First {
    let Some(rx) = player.producer_rx() else { return First::Failed("nothing could be played".into()) };
    match tokio::time::timeout(within, rx.recv()).await {
        Ok(Some(Produced::Chunk(chunk))) => {
            player.on_produced(library, Some(Produced::Chunk(chunk)), out);
            First::Audio
        }
        Ok(Some(Produced::Failed(why))) => First::Failed(why),
        Ok(None) => First::Failed("the decoder stopped".into()),
        Err(_) => First::Late,
    }
}

fn now_playing(player: &Player) -> Answer {
    let paused = player.state == PlaybackState::Paused;
    match player.now_playing() {
        Some(Item::Track(t)) => {
            let mut s = format!("{} {}", if paused { "Paused:" } else { "This is" }, t.describe());
            if let Some(album) = &t.album {
                s.push_str(&format!(", from the album {album}"));
            }
            s.push('.');
            Answer::ok(s)
        }
        Some(Item::Station(st)) => Answer::ok(format!("{} {}, an internet station.", if paused { "Paused:" } else { "This is" }, st.name)),
        None => Answer::ok("Nothing is playing."),
    }
}
