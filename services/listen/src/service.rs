//! The listen service: on `wake/detected` or `listen/start`, capture the site's microphone until the
//! endpointer says the utterance is over, then hand it to speech recognition.
//!
//! Events of one capture, in order: `listen/started`, `audio/chime` (listening), then either
//! `audio/chime` (got_it), `listen/ended` (silence or max_length) and `listen/utterance`, or only
//! `listen/ended` (no_speech, cancelled). A new wake during a capture cancels it and starts the next;
//! `audio/stop` cancels it (except the stop a barge-in wake sends along with its new turn).
//!
//! It serves only its configured sites (`[listen] sites`, default the node's own), so two machines
//! never capture for each other's rooms.
//!
//! The endpointers run on a named thread (`listen-engine`), one per site. The loop keeps the last
//! second of every site's frames so a capture started by a wake word also gets the words spoken
//! between the end of the wake word and the moment `wake/detected` arrived.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc as std_mpsc;

use hearth_bus::audio::{samples_to_pcm, AudioFrame, Chime, ChimeKind, StopPlayback, MIC_SAMPLE_RATE_HZ};
use hearth_bus::ids::{new_id, now_ms};
use hearth_bus::listen::{EndReason, ListenReason, ListeningEnded, ListeningStarted, StartListening, Utterance};
use hearth_bus::service::ServiceState;
use hearth_bus::topic::Sites;
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusError, Shutdown};
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::{ListenConfig, PULL_COMMAND};
use crate::endpointer::{Endpointer, Ending};

#[derive(Debug, Error)]
pub enum ListenError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Recent frames kept per site, for the words said while `wake/detected` was on its way.
const RECENT_MS: i64 = 1_000;
/// Frames queued for the engine before new ones are dropped.
const ENGINE_QUEUE: usize = 1_000;
/// `audio/stop` reasons that come with a new turn and so must not cancel its capture.
const STOPS_FOR_NEW_TURN: &[&str] = &["wake", "new_turn"];

enum ToEngine {
    Start { site: String, session_id: String, no_speech_timeout_ms: Option<u64>, seed: Vec<i16> },
    Frame { site: String, samples: Vec<i16> },
    Cancel { site: String },
}

struct Ended {
    site: String,
    session_id: String,
    ending: Ending,
}

#[derive(Default)]
struct Site {
    recent: VecDeque<(i64, Vec<i16>)>,
    /// Session of the capture in progress.
    capturing: Option<String>,
}

/// Serves listening for the configured sites until shutdown.
pub async fn run(config: ListenConfig, bus: Bus, shutdown: Shutdown) -> Result<(), ListenError> {
    let Bus { client, mut inbox } = bus;
    let served = Sites::from_list(&config.sites, client.site()).unwrap_or_else(|why| {
        warn!(%why, "listen.sites is invalid; serving the node's own site only");
        Sites::Only(vec![client.site().to_string()])
    });
    client.subscribe_sites::<AudioFrame>(&served).await?;
    client.subscribe_sites::<WakeDetected>(&served).await?;
    client.subscribe_sites::<StartListening>(&served).await?;
    client.subscribe_sites::<StopPlayback>(&served).await?;
    info!(sites = ?served, "serving");

    let (to_engine, mut ended_rx) = match start_engine(&config).await {
        Ok((tx, rx)) => {
            client.set_capabilities(vec!["vad:silero".into()]).await?;
            client.set_status(ServiceState::Online, None).await?;
            info!(model = %config.vad_model().display(), max_length_ms = config.max_length_ms, "listener ready");
            (Some(tx), Some(rx))
        }
        Err(detail) => {
            error!(%detail, "listening unavailable");
            client.set_status(ServiceState::Unavailable, Some(detail)).await?;
            (None, None)
        }
    };
    let mut sites: HashMap<String, Site> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            ended = recv_ended(&mut ended_rx) => {
                let Some(ended) = ended else { break };
                let site = sites.entry(ended.site.clone()).or_default();
                // An ending of a capture that was already replaced or cancelled is stale.
                if site.capturing.as_deref() == Some(ended.session_id.as_str()) {
                    site.capturing = None;
                    publish_ending(&client, &ended.site, &ended.session_id, ended.ending).await;
                }
            }
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let Some(name) = envelope.site().map(str::to_owned) else { continue };
                let site = sites.entry(name.clone()).or_default();
                if let Some(frame) = envelope.decode::<AudioFrame>() {
                    on_audio_frame(site, &name, frame, to_engine.as_ref());
                } else if let Some(wake) = envelope.decode::<WakeDetected>() {
                    let seed = frames_since(site, wake.timestamp_ms);
                    start_capture(&client, to_engine.as_ref(), site, &name, wake.session_id, ListenReason::Wake, None, seed).await;
                } else if let Some(start) = envelope.decode::<StartListening>() {
                    let session = start.session_id.unwrap_or_else(new_id);
                    start_capture(&client, to_engine.as_ref(), site, &name, session, start.reason, start.no_speech_timeout_ms, Vec::new()).await;
                } else if let Some(stop) = envelope.decode::<StopPlayback>() {
                    if !STOPS_FOR_NEW_TURN.contains(&stop.reason.as_str()) {
                        if let Some(session) = site.capturing.take() {
                            info!(site = %name, %session, reason = %stop.reason, "capture cancelled by audio/stop");
                            if let Some(tx) = &to_engine {
                                let _ = tx.send(ToEngine::Cancel { site: name.clone() });
                            }
                            publish_ended(&client, &name, &session, EndReason::Cancelled, 0, 0).await;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

async fn recv_ended(rx: &mut Option<mpsc::UnboundedReceiver<Ended>>) -> Option<Ended> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn on_audio_frame(site: &mut Site, name: &str, frame: AudioFrame, engine: Option<&std_mpsc::SyncSender<ToEngine>>) {
    if frame.sample_rate_hz != MIC_SAMPLE_RATE_HZ || frame.channels != 1 {
        if hearth_bus::codec::count_dropped(&format!("listen/unsupported-format/{name}")) == 1 {
            warn!(site = name, rate = frame.sample_rate_hz, channels = frame.channels, "dropping frames: need 16 kHz mono");
        }
        return;
    }
    let samples = frame.samples();
    if site.capturing.is_some() {
        if let Some(tx) = engine {
            let msg = ToEngine::Frame { site: name.to_string(), samples: samples.clone() };
            if tx.try_send(msg).is_err() && hearth_bus::codec::count_dropped(&format!("listen/engine-behind/{name}")) % 100 == 1 {
                warn!(site = name, "listen engine is behind, dropping frames");
            }
        }
    }
    site.recent.push_back((frame.timestamp_ms, samples));
    while site.recent.front().is_some_and(|(ts, _)| *ts < frame.timestamp_ms - RECENT_MS) {
        site.recent.pop_front();
    }
}

/// Recent samples captured at or after `since_ms` (the end of the wake word).
fn frames_since(site: &Site, since_ms: i64) -> Vec<i16> {
    site.recent.iter().filter(|(ts, _)| *ts >= since_ms).flat_map(|(_, s)| s.iter().copied()).collect()
}

#[allow(clippy::too_many_arguments)]
async fn start_capture(
    client: &BusClient,
    engine: Option<&std_mpsc::SyncSender<ToEngine>>,
    site: &mut Site,
    name: &str,
    session_id: String,
    reason: ListenReason,
    no_speech_timeout_ms: Option<u64>,
    seed: Vec<i16>,
) {
    if let Some(old) = site.capturing.take() {
        info!(site = name, session = %old, "capture restarted by a new request");
        publish_ended(client, name, &old, EndReason::Cancelled, 0, 0).await;
    }
    let Some(tx) = engine else {
        // Unavailable: answer with the failure rather than silence.
        warn!(site = name, session = %session_id, "cannot listen: no VAD model — run `{PULL_COMMAND}`");
        publish(client, name, &Chime { chime: ChimeKind::Error, session_id: Some(session_id.clone()) }).await;
        publish_ended(client, name, &session_id, EndReason::Cancelled, 0, 0).await;
        return;
    };
    let start = ToEngine::Start { site: name.to_string(), session_id: session_id.clone(), no_speech_timeout_ms, seed };
    if tx.send(start).is_err() {
        return;
    }
    site.capturing = Some(session_id.clone());
    info!(site = name, session = %session_id, ?reason, "listening");
    publish(client, name, &ListeningStarted { session_id: session_id.clone(), reason, timestamp_ms: now_ms() }).await;
    publish(client, name, &Chime { chime: ChimeKind::Listening, session_id: Some(session_id) }).await;
}

async fn publish_ending(client: &BusClient, site: &str, session_id: &str, ending: Ending) {
    info!(site, session = session_id, reason = ?ending.reason, speech_ms = ending.speech_ms, duration_ms = ending.duration_ms, "capture ended");
    if ending.utterance.is_some() {
        publish(client, site, &Chime { chime: ChimeKind::GotIt, session_id: Some(session_id.to_string()) }).await;
    }
    publish_ended(client, site, session_id, ending.reason, ending.speech_ms, ending.duration_ms).await;
    if let Some(samples) = ending.utterance {
        let utterance = Utterance {
            session_id: session_id.to_string(),
            sample_rate_hz: MIC_SAMPLE_RATE_HZ,
            channels: 1,
            pcm: samples_to_pcm(&samples),
            timestamp_ms: now_ms(),
        };
        publish(client, site, &utterance).await;
    }
}

async fn publish_ended(client: &BusClient, site: &str, session_id: &str, reason: EndReason, speech_ms: u64, duration_ms: u64) {
    let msg = ListeningEnded { session_id: session_id.to_string(), reason, speech_ms, duration_ms, timestamp_ms: now_ms() };
    publish(client, site, &msg).await;
}

async fn publish<M: hearth_bus::Message>(client: &BusClient, site: &str, msg: &M) {
    if let Err(error) = client.publish(site, msg).await {
        warn!(topic = M::SUFFIX, %error, "could not publish");
    }
}

type EngineChannels = (std_mpsc::SyncSender<ToEngine>, mpsc::UnboundedReceiver<Ended>);

/// Loads one endpointer to check the model, then starts the engine thread.
async fn start_engine(config: &ListenConfig) -> Result<EngineChannels, String> {
    let model = config.vad_model();
    if !model.is_file() {
        return Err(format!("Silero VAD model missing: {} — run `{PULL_COMMAND}`", model.display()));
    }
    let (lib, settings) = (config.onnxruntime(), config.settings());
    let load = move || Endpointer::load(&model, &lib, settings);
    let loader = load.clone();
    let first = tokio::task::spawn_blocking(loader)
        .await
        .map_err(|e| format!("listen engine failed to load: {e}"))?
        .map_err(|e| e.to_string())?;
    let (tx, rx) = std_mpsc::sync_channel(ENGINE_QUEUE);
    let (ended_tx, ended_rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("listen-engine".into())
        .spawn(move || engine_thread(load, first, rx, ended_tx))
        .map_err(|e| format!("could not start the listen engine thread: {e}"))?;
    Ok((tx, ended_rx))
}

struct Capture {
    endpointer: Endpointer,
    session_id: Option<String>,
}

fn engine_thread(
    load: impl Fn() -> Result<Endpointer, hearth_wake::onnx::OnnxError>,
    first: Endpointer,
    rx: std_mpsc::Receiver<ToEngine>,
    ended: mpsc::UnboundedSender<Ended>,
) {
    let mut spare = Some(first);
    let mut captures: HashMap<String, Capture> = HashMap::new();
    while let Ok(msg) = rx.recv() {
        let (site, result) = match msg {
            ToEngine::Start { site, session_id, no_speech_timeout_ms, seed } => {
                if !captures.contains_key(&site) {
                    let endpointer = match spare.take().map(Ok).unwrap_or_else(&load) {
                        Ok(e) => e,
                        Err(error) => {
                            error!(%site, %error, "cannot start an endpointer");
                            let ending = Ending { reason: EndReason::Cancelled, speech_ms: 0, duration_ms: 0, utterance: None };
                            let _ = ended.send(Ended { site, session_id, ending });
                            continue;
                        }
                    };
                    captures.insert(site.clone(), Capture { endpointer, session_id: None });
                }
                let Some(c) = captures.get_mut(&site) else { continue };
                c.endpointer.start(no_speech_timeout_ms);
                c.session_id = Some(session_id);
                let result = c.endpointer.push(&seed);
                (site, result)
            }
            ToEngine::Frame { site, samples } => {
                let result = captures.get_mut(&site).and_then(|c| c.endpointer.push(&samples));
                (site, result)
            }
            ToEngine::Cancel { site } => {
                if let Some(c) = captures.get_mut(&site) {
                    if c.endpointer.is_active() {
                        c.endpointer.cancel();
                    }
                    c.session_id = None;
                }
                continue;
            }
        };
        if let Some(ending) = result {
            let session_id = captures.get_mut(&site).and_then(|c| c.session_id.take()).unwrap_or_default();
            if ended.send(Ended { site, session_id, ending }).is_err() {
                return;
            }
        }
    }
}
