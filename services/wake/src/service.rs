//! The wake service: microphone frames of the sites it serves in, `wake/heard` out (to the arbiter,
//! which picks the one site that answers), or `wake/detected` itself while no arbiter is online.
//!
//! The engine runs on its own named thread (`wake-engine`) with one [`WakeDetector`] per site; the async
//! loop only decodes, routes and publishes. A site's frames are not fed while detection is switched
//! off there, or while the assistant speaks there (unless `barge_in`); the detector is reset when
//! feeding resumes so stale audio cannot complete a word. The on/off switch of each site is stored
//! ([`crate::state`]) and in force before the first frame is subscribed to.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::mpsc as std_mpsc;

use hearth_bus::audio::{AudioFrame, StopPlayback, MIC_SAMPLE_RATE_HZ};
use hearth_bus::brain::{AssistantState, StateChanged};
use hearth_bus::ids::new_id;
use hearth_bus::audio::level_dbfs;
use hearth_bus::service::{service_of, status_topic, ServiceState, ServiceStatus};
use hearth_bus::topic::Sites;
use hearth_bus::wake::{SetWake, WakeDetected, WakeHeard, WakeState, ARBITER_SERVICE};
use hearth_bus::{Bus, BusClient, BusError, Envelope, Message, Shutdown};
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::{WakeConfig, PULL_COMMAND};
use crate::detector::{DetectorSpec, WakeDetector, SAMPLE_RATE_HZ};
use crate::onnx::OnnxError;

#[derive(Debug, Error)]
pub enum WakeError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("could not start the wake engine thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Frames queued for the engine before new ones are dropped (10 s at 50 frames a second).
const ENGINE_QUEUE: usize = 500;

enum ToEngine {
    Frame { site: String, samples: Vec<i16>, timestamp_ms: i64 },
    Reset { site: String },
}

struct Heard {
    site: String,
    word: String,
    score: f32,
    /// Level of the last second up to the detection, dBFS: the arbiter's tie-breaker between rooms.
    level_dbfs: f32,
    timestamp_ms: i64,
}

/// Audio kept per site for the level of a detected word (one second at 16 kHz).
const LEVEL_WINDOW_SAMPLES: usize = 16_000;

#[derive(Debug, Clone, Copy)]
struct Site {
    enabled: bool,
    speaking: bool,
}

/// Serves wake word detection for the configured sites (`[wake] sites`) until shutdown.
pub async fn run(config: WakeConfig, bus: Bus, shutdown: Shutdown) -> Result<(), WakeError> {
    let Bus { client, mut inbox } = bus;
    let served = Sites::from_list(&config.sites, client.site()).unwrap_or_else(|why| {
        warn!(%why, "wake.sites is invalid; serving the node's own site only");
        Sites::Only(vec![client.site().to_string()])
    });
    // The stored switches are in force, and published, before any audio is subscribed to: a site
    // switched off never has a frame fed after a restart.
    let state_path = config.state_path();
    let mut stored = state_path.as_deref().map(crate::state::load).unwrap_or_default();
    client.subscribe_sites::<SetWake>(&served).await?;
    client.subscribe_sites::<StateChanged>(&served).await?;
    // Whether an arbiter decides between rooms (any site's arbiter status `online`).
    client.subscribe(status_topic("+", ARBITER_SERVICE)).await?;
    let mut arbiters: HashSet<String> = HashSet::new();

    let engine = match start_engine(&config, client.site()).await {
        Ok(engine) => {
            client.set_capabilities(engine.words.iter().map(|w| format!("wake:{w}")).collect()).await?;
            client.set_status(ServiceState::Online, None).await?;
            info!(words = ?engine.words, barge_in = config.barge_in, "wake word detection ready");
            Some(engine)
        }
        Err(detail) => {
            error!(%detail, "wake word detection unavailable");
            client.set_status(ServiceState::Unavailable, Some(detail)).await?;
            None
        }
    };
    let words = engine.as_ref().map(|e| e.words.clone()).unwrap_or_default();
    let mut sites: HashMap<String, Site> = HashMap::new();
    let known: BTreeSet<String> = match &served {
        Sites::All => stored.enabled.keys().cloned().chain([client.site().to_string()]).collect(),
        Sites::Only(list) => list.iter().cloned().collect(),
    };
    for site in known {
        let enabled = stored.enabled_at(&site, config.enabled);
        sites.insert(site.clone(), Site { enabled, speaking: false });
        publish_state(&client, &site, enabled && engine.is_some(), &words).await;
    }
    client.subscribe_sites::<AudioFrame>(&served).await?;
    info!(sites = ?served, "serving");

    let (mut heard_rx, to_engine) = match engine {
        Some(e) => (Some(e.heard), Some(e.tx)),
        None => (None, None),
    };
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            heard = recv_heard(&mut heard_rx) => {
                let Some(heard) = heard else { break };
                let speaking = sites.get(&heard.site).is_some_and(|s| s.speaking);
                on_heard(&client, heard, speaking && config.barge_in, !arbiters.is_empty()).await;
            }
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let Some(site) = envelope.site().map(str::to_owned) else { continue };
                if let Some(status) = arbiter_status(&envelope) {
                    let online = status.state == ServiceState::Online;
                    let changed = if online { arbiters.insert(site.clone()) } else { arbiters.remove(&site) };
                    if changed {
                        info!(arbiter_site = %site, online, "wake word arbiter");
                    }
                    continue;
                }
                if !served.contains(&site) {
                    continue;
                }
                let enabled = stored.enabled_at(&site, config.enabled);
                let state = match sites.entry(site.clone()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        // A room new to this service (a web satellite): say it listens, so the
                        // arbiter waits for it when it decides between rooms.
                        publish_state(&client, &site, enabled && to_engine.is_some(), &words).await;
                        e.insert(Site { enabled, speaking: false })
                    }
                };
                // Decoded quietly here: `on_envelope` logs and counts a bad payload.
                let set = envelope.is::<SetWake>().then(|| SetWake::from_payload(&envelope.payload).ok()).flatten();
                if let Some(set) = set {
                    // Stored before it is reported: the state shown is the state a restart comes back in.
                    stored.enabled.insert(site.clone(), set.enabled);
                    crate::state::save_in_background(state_path.clone(), stored.clone()).await;
                }
                on_envelope(&envelope, &site, state, &config, to_engine.as_ref(), &client, &words).await;
            }
        }
    }
    // Dropping the sender ends the engine thread.
    drop(to_engine);
    Ok(())
}

async fn recv_heard(rx: &mut Option<mpsc::UnboundedReceiver<Heard>>) -> Option<Heard> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn on_envelope(
    envelope: &Envelope,
    site: &str,
    state: &mut Site,
    config: &WakeConfig,
    engine: Option<&std_mpsc::SyncSender<ToEngine>>,
    client: &BusClient,
    words: &[String],
) {
    let was_feeding = state.enabled && (!state.speaking || config.barge_in);
    if let Some(frame) = envelope.decode::<AudioFrame>() {
        if was_feeding {
            if let Some(tx) = engine {
                on_audio_frame(tx, site, frame);
            }
        }
        return;
    }
    if let Some(set) = envelope.decode::<SetWake>() {
        state.enabled = set.enabled;
        if engine.is_none() && set.enabled {
            warn!(site, "wake/set ignored: wake word detection is unavailable");
        }
        info!(site, enabled = set.enabled && engine.is_some(), "wake detection switched");
        publish_state(client, site, set.enabled && engine.is_some(), words).await;
    } else if let Some(brain) = envelope.decode::<StateChanged>() {
        state.speaking = brain.state == AssistantState::Speaking;
    } else {
        return;
    }
    let feeding = state.enabled && (!state.speaking || config.barge_in);
    if feeding && !was_feeding {
        if let Some(tx) = engine {
            let _ = tx.try_send(ToEngine::Reset { site: site.to_string() });
        }
    }
}

fn on_audio_frame(tx: &std_mpsc::SyncSender<ToEngine>, site: &str, frame: AudioFrame) {
    if frame.sample_rate_hz != MIC_SAMPLE_RATE_HZ || frame.channels != 1 {
        let n = hearth_bus::codec::count_dropped(&format!("wake/unsupported-format/{site}"));
        if n == 1 {
            warn!(site, rate = frame.sample_rate_hz, channels = frame.channels, "dropping frames: need 16 kHz mono");
        }
        return;
    }
    let msg = ToEngine::Frame { site: site.to_string(), samples: frame.samples(), timestamp_ms: frame.timestamp_ms };
    if let Err(std_mpsc::TrySendError::Full(_)) = tx.try_send(msg) {
        let n = hearth_bus::codec::count_dropped(&format!("wake/engine-behind/{site}"));
        if n % 100 == 1 {
            warn!(site, dropped = n, "wake engine is behind, dropping frames");
        }
    }
}

/// The status of a wake word arbiter, if that is what `envelope` carries.
fn arbiter_status(envelope: &Envelope) -> Option<ServiceStatus> {
    let suffix = envelope.suffix()?;
    if service_of(suffix, "status")? != ARBITER_SERVICE {
        return None;
    }
    envelope.decode::<ServiceStatus>()
}

async fn on_heard(client: &BusClient, heard: Heard, barge_in: bool, arbitrated: bool) {
    if arbitrated {
        // The arbiter decides whether this room answers, and stops playback for it if so.
        let msg = WakeHeard {
            session_id: new_id(),
            word: heard.word,
            score: heard.score,
            level_dbfs: heard.level_dbfs,
            timestamp_ms: heard.timestamp_ms,
            barge_in,
        };
        info!(site = %heard.site, word = %msg.word, score = msg.score, level_dbfs = msg.level_dbfs, barge_in, "wake word heard; the arbiter decides");
        if let Err(error) = client.publish(&heard.site, &msg).await {
            warn!(%error, "could not publish wake/heard");
        }
        return;
    }
    if barge_in {
        // Stop first, so the reply is cut before the new turn's listening chime.
        let stop = StopPlayback { reason: "wake".into() };
        if let Err(error) = client.publish(&heard.site, &stop).await {
            warn!(%error, "could not publish audio/stop");
        }
    }
    let msg = WakeDetected {
        session_id: new_id(),
        word: heard.word,
        score: heard.score,
        timestamp_ms: heard.timestamp_ms,
    };
    info!(site = %heard.site, word = %msg.word, score = msg.score, session = %msg.session_id, barge_in, "wake word");
    if let Err(error) = client.publish(&heard.site, &msg).await {
        warn!(%error, "could not publish wake/detected");
    }
}

async fn publish_state(client: &BusClient, site: &str, enabled: bool, words: &[String]) {
    let state = WakeState { enabled, words: words.to_vec() };
    if let Err(error) = client.publish(site, &state).await {
        warn!(%error, "could not publish wake/state");
    }
}

struct Engine {
    words: Vec<String>,
    tx: std_mpsc::SyncSender<ToEngine>,
    heard: mpsc::UnboundedReceiver<Heard>,
}

/// Loads the first detector (for the own site) off the executor, then starts the engine thread. The
/// error is the status detail: what is missing and the command that fixes it.
async fn start_engine(config: &WakeConfig, own_site: &str) -> Result<Engine, String> {
    let spec = config.detector_spec().map_err(|missing| {
        let files: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        format!("openWakeWord model missing: {} — run `{PULL_COMMAND}`", files.join(", "))
    })?;
    let load_spec = spec.clone();
    let first = tokio::task::spawn_blocking(move || WakeDetector::new(&load_spec))
        .await
        .map_err(|e| format!("wake engine failed to load: {e}"))?
        .map_err(|e| e.to_string())?;
    let words = first.words();
    let (tx, rx) = std_mpsc::sync_channel(ENGINE_QUEUE);
    let (heard_tx, heard) = mpsc::unbounded_channel();
    let own = own_site.to_string();
    std::thread::Builder::new()
        .name("wake-engine".into())
        .spawn(move || engine_thread(spec, own, first, rx, heard_tx))
        .map_err(|e| format!("could not start the wake engine thread: {e}"))?;
    Ok(Engine { words, tx, heard })
}

struct SiteDetector {
    detector: WakeDetector,
    fed: u64,
    /// The last second of audio, for the level of a detected word.
    recent: VecDeque<i16>,
}

impl SiteDetector {
    fn new(detector: WakeDetector) -> Self {
        SiteDetector { detector, fed: 0, recent: VecDeque::with_capacity(LEVEL_WINDOW_SAMPLES) }
    }

    fn remember(&mut self, samples: &[i16]) {
        self.recent.extend(samples.iter().copied());
        let excess = self.recent.len().saturating_sub(LEVEL_WINDOW_SAMPLES);
        self.recent.drain(..excess);
    }
}

fn engine_thread(
    spec: DetectorSpec,
    own_site: String,
    first: WakeDetector,
    rx: std_mpsc::Receiver<ToEngine>,
    heard: mpsc::UnboundedSender<Heard>,
) {
    let mut detectors: HashMap<String, SiteDetector> = HashMap::new();
    detectors.insert(own_site, SiteDetector::new(first));
    while let Ok(msg) = rx.recv() {
        match msg {
            ToEngine::Reset { site } => {
                if let Some(d) = detectors.get_mut(&site) {
                    d.detector.reset();
                    d.fed = 0;
                    d.recent.clear();
                }
            }
            ToEngine::Frame { site, samples, timestamp_ms } => {
                if !detectors.contains_key(&site) {
                    match WakeDetector::new(&spec) {
                        Ok(detector) => {
                            info!(%site, "wake detector started for a new site");
                            detectors.insert(site.clone(), SiteDetector::new(detector));
                        }
                        Err(error) => {
                            error!(%site, %error, "cannot start a wake detector");
                            continue;
                        }
                    }
                }
                let Some(d) = detectors.get_mut(&site) else { continue };
                d.fed += samples.len() as u64;
                d.remember(&samples);
                for detection in d.detector.process(&samples) {
                    // The word ended where its step ended: before the frame's end by what is still pending.
                    let behind = d.fed.saturating_sub(detection.end_sample);
                    let end = samples.len() as i64 - behind as i64;
                    let ts = timestamp_ms + end * 1000 / SAMPLE_RATE_HZ as i64;
                    let level = level_dbfs(d.recent.make_contiguous()) as f32;
                    let msg = Heard { site: site.clone(), word: detection.word, score: detection.score, level_dbfs: level, timestamp_ms: ts };
                    if heard.send(msg).is_err() {
                        return;
                    }
                }
            }
        }
    }
}
