//! The audio service: microphone frames onto the bus, speech and chimes out of the speaker.
//!
//! The microphone (a sound card at its native rate and format, a WAV file, stdin, or none) is
//! converted to 16 kHz mono s16 with a real resampler and published as 20 ms [`AudioFrame`]s on
//! `hearth/<site>/audio/frame`. [`PlayChunk`]s on `audio/play` are queued per utterance, resampled
//! to the speaker's rate and played one utterance after another; each gets a [`Played`] event.
//! Chimes, volume, stop, mic mute and ducking complete the controls. Music streams
//! (`music/chunk`) are mixed under speech and ducked while a wake word was heard, while the
//! assistant listens, thinks or speaks, and while speech or a chime plays. A missing sound card
//! leaves the service up with status `unavailable` and a message naming what to set.
//!
//! # Layout
//! - [`config`]: the `[audio]` table.
//! - [`resample`]: streaming resampler and the microphone framer (engines).
//! - [`playback`]: the playback queue of speech and chimes (engine).
//! - [`music`]: the music mixer: streams under speech, ducking, flow-control feedback (engine).
//! - [`wav`]: WAV file source and the growing WAV sink.
//! - [`chime`]: the chimes, generated in code.
//! - [`device`]: sound cards through cpal, and the missing-device message.
//! - [`mic`], [`speaker`]: the two threads that own a source and a sink.
//! - [`state`]: the stored volume and microphone mute.

pub mod chime;
pub mod config;
pub mod device;
pub mod mic;
pub mod music;
pub mod playback;
pub mod resample;
pub mod speaker;
pub mod state;
pub mod wav;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hearth_bus::audio::{
    AudioFrame, Chime, Duck, MicState, PlayChunk, SetMicMuted, SetVolume, StopPlayback, Volume,
    MIC_SAMPLE_RATE_HZ,
};
use hearth_bus::brain::{AssistantState, StateChanged};
use hearth_bus::listen::{ListeningEnded, ListeningStarted};
use hearth_bus::music::{MusicChunk, MusicFlush, MusicSink};
use hearth_bus::service::ServiceState;
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusError, Envelope, Message, Shutdown};
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::{info, warn};

pub use config::AudioConfig;
use device::Direction;
use mic::{Mic, MicEvent};
use playback::PlayerEvent;
use resample::MicFrame;
use speaker::{Speaker, SpeakerCommand, SpeakerEvent};

#[derive(Debug, Error)]
pub enum AudioError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("`{key}` {why}")]
    Config { key: &'static str, why: String },
    #[error("{detail}")]
    NoDevice { direction: Direction, detail: String },
    #[error("{0}")]
    Device(String),
    #[error("sample rate {rate_hz} Hz is not supported (4000 to 384000 Hz)")]
    BadRate { rate_hz: u32 },
    #[error("{channels} channels is not a channel count")]
    BadChannels { channels: u16 },
    #[error("resampler: {0}")]
    Resampler(String),
    #[error("{path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("chunk {seq} of utterance {utterance_id} arrived after the utterance ended")]
    StaleChunk { utterance_id: String, seq: u32 },
    #[error("chunk {seq} of utterance {utterance_id} arrived twice")]
    DuplicateChunk { utterance_id: String, seq: u32 },
}

/// Frames queued between the microphone thread and the publisher: 5 s.
const MIC_QUEUE_FRAMES: usize = 250;

/// How one direction is doing.
#[derive(Debug, Clone, PartialEq)]
enum Side {
    Off,
    Starting,
    Ready(String),
    Unavailable(String),
}

/// Runs the audio service until shutdown.
pub async fn run(config: AudioConfig, bus: Bus, shutdown: Shutdown) -> Result<(), AudioError> {
    config.validate().map_err(|(key, why)| AudioError::Config { key, why })?;
    let Bus { client, mut inbox } = bus;
    let site = client.site().to_string();
    client.subscribe_site::<PlayChunk>(&site).await?;
    client.subscribe_site::<Chime>(&site).await?;
    client.subscribe_site::<StopPlayback>(&site).await?;
    client.subscribe_site::<SetVolume>(&site).await?;
    client.subscribe_site::<SetMicMuted>(&site).await?;
    client.subscribe_site::<MusicChunk>(&site).await?;
    client.subscribe_site::<MusicFlush>(&site).await?;
    // What ducks music besides the speaker's own speech: the turn's events.
    client.subscribe_site::<WakeDetected>(&site).await?;
    client.subscribe_site::<ListeningStarted>(&site).await?;
    client.subscribe_site::<ListeningEnded>(&site).await?;
    client.subscribe_site::<StateChanged>(&site).await?;

    // The stored state is in force, and published (retained), before the microphone opens: a
    // muted microphone never sends a frame after a restart, and Home Assistant never sees it live.
    let state_path = config.state_path();
    let stored = state_path.as_deref().map(state::load).unwrap_or_default();
    let volume = stored.volume.unwrap_or(config.volume_percent);
    client.publish(&site, &Volume { volume }).await?;
    let mut muted = stored.mic_muted;
    client.publish(&site, &MicState { muted }).await?;

    let (mic_tx, mut mic_rx) = mpsc::channel(MIC_QUEUE_FRAMES);
    let mic = Mic::start(&config, mic_tx)?;
    let (speaker_tx, mut speaker_rx) = mpsc::unbounded_channel();
    let speaker = Speaker::start(&config, volume, speaker_tx)?;
    let mut health = Health { mic: if mic.is_some() { Side::Starting } else { Side::Off }, speaker: Side::Starting };
    health.publish(&client).await;
    info!(input = %config.input, output = %config.output, volume, muted, "audio ready");

    let mut service = Service { client: client.clone(), site, speaker, state_path, stored, volume, seq: 0 };
    let mut ducking = Ducking::new(Duration::from_millis(config.wake_duck_hold_ms));
    loop {
        let wake_hold = ducking.wake_until;
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = sleep_until(wake_hold) => ducking.update(&service.speaker, Instant::now()),
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                if !ducking.on_envelope(&envelope, Instant::now()) {
                    service.on_envelope(&envelope, &mut muted).await;
                }
                ducking.update(&service.speaker, Instant::now());
            }
            Some(event) = mic_rx.recv() => match event {
                MicEvent::Frame(frame) if !muted => service.publish_frame(frame).await,
                MicEvent::Frame(_) => {}
                MicEvent::Ready(what) => health.set_mic(Side::Ready(what), &client).await,
                MicEvent::Unavailable(why) => health.set_mic(Side::Unavailable(why), &client).await,
            },
            Some(event) = speaker_rx.recv() => match event {
                SpeakerEvent::Player(PlayerEvent::Finished(played)) => service.publish(&played).await,
                SpeakerEvent::Player(PlayerEvent::Duck(active)) => service.publish(&Duck { active }).await,
                SpeakerEvent::Music(feedback) => service.publish(&feedback).await,
                SpeakerEvent::SinkRate(sample_rate_hz) => service.publish(&MusicSink { sample_rate_hz }).await,
                SpeakerEvent::Ready(what) => health.set_speaker(Side::Ready(what), &client).await,
                SpeakerEvent::Unavailable(why) => health.set_speaker(Side::Unavailable(why), &client).await,
            },
        }
    }
    // Closing the receiver first frees a source thread that waits for room.
    drop(mic_rx);
    let Service { speaker, .. } = service;
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(m) = mic {
            m.stop();
        }
        speaker.stop();
    })
    .await;
    info!("audio stopped");
    Ok(())
}

struct Service {
    client: BusClient,
    site: String,
    speaker: Speaker,
    state_path: Option<PathBuf>,
    /// What is on disk (a volume is stored only once someone sets one).
    stored: state::StoredState,
    volume: u8,
    /// Frames published since start (muted frames are not counted).
    seq: u64,
}

impl Service {
    async fn on_envelope(&mut self, envelope: &Envelope, muted: &mut bool) {
        if let Some(chunk) = envelope.decode::<PlayChunk>() {
            self.speaker.send(SpeakerCommand::Chunk(chunk));
        } else if let Some(chunk) = envelope.decode::<MusicChunk>() {
            self.speaker.send(SpeakerCommand::Music(chunk));
        } else if let Some(flush) = envelope.decode::<MusicFlush>() {
            info!(reason = %flush.reason, "music flushed");
            self.speaker.send(SpeakerCommand::MusicFlush);
        } else if let Some(c) = envelope.decode::<Chime>() {
            self.speaker.send(SpeakerCommand::Chime { kind: c.chime, session_id: c.session_id });
        } else if let Some(stop) = envelope.decode::<StopPlayback>() {
            info!(reason = %stop.reason, "stop playback");
            self.speaker.send(SpeakerCommand::Stop);
        } else if let Some(set) = envelope.decode::<SetVolume>() {
            self.on_set_volume(set.volume).await;
        } else if let Some(set) = envelope.decode::<SetMicMuted>() {
            *muted = set.muted;
            info!(muted = set.muted, "microphone mute");
            // Stored before it is reported: the state shown is the state a restart comes back in.
            self.stored.mic_muted = set.muted;
            state::save_in_background(self.state_path.clone(), self.stored).await;
            self.publish(&MicState { muted: set.muted }).await;
        }
    }

    async fn on_set_volume(&mut self, requested: u8) {
        let volume = requested.min(100);
        if volume != requested {
            warn!(requested, "volume above 100 %, using 100");
        }
        self.volume = volume;
        self.speaker.send(SpeakerCommand::Volume(volume));
        self.stored.volume = Some(volume);
        state::save_in_background(self.state_path.clone(), self.stored).await;
        info!(volume, "volume set");
        self.publish(&Volume { volume }).await;
    }

    async fn publish_frame(&mut self, frame: MicFrame) {
        let msg = AudioFrame::from_samples(self.seq, frame.timestamp_ms, MIC_SAMPLE_RATE_HZ, 1, &frame.samples);
        self.seq += 1;
        self.publish(&msg).await;
    }

    async fn publish<M: Message>(&self, msg: &M) {
        if let Err(error) = self.client.publish(&self.site, msg).await {
            warn!(topic = M::SUFFIX, %error, "cannot publish");
        }
    }
}

/// Sleeps until `at`, or for ever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Whether the turn's events duck music: from a wake word (for `hold` at most, unless the listener
/// or the brain take over), while the listener captures, and while the brain listens, thinks or
/// speaks. Speech and chimes duck it in the speaker thread itself.
struct Ducking {
    hold: Duration,
    wake_until: Option<Instant>,
    listening: bool,
    brain_busy: bool,
    sent: bool,
}

impl Ducking {
    fn new(hold: Duration) -> Ducking {
        Ducking { hold, wake_until: None, listening: false, brain_busy: false, sent: false }
    }

    /// Takes the turn's events; true when `envelope` was one of them.
    fn on_envelope(&mut self, envelope: &Envelope, now: Instant) -> bool {
        if envelope.decode::<WakeDetected>().is_some() {
            self.wake_until = Some(now + self.hold);
        } else if envelope.decode::<ListeningStarted>().is_some() {
            self.listening = true;
        } else if envelope.decode::<ListeningEnded>().is_some() {
            // The capture is over; the brain's state covers thinking and speaking.
            self.listening = false;
            self.wake_until = None;
        } else if let Some(state) = envelope.decode::<StateChanged>() {
            self.brain_busy = matches!(state.state, AssistantState::Listening | AssistantState::Thinking | AssistantState::Speaking);
            if state.state == AssistantState::Idle {
                self.wake_until = None;
            }
        } else {
            return false;
        }
        true
    }

    fn update(&mut self, speaker: &Speaker, now: Instant) {
        if self.wake_until.is_some_and(|t| now >= t) {
            self.wake_until = None;
        }
        let wanted = self.listening || self.brain_busy || self.wake_until.is_some();
        if wanted != self.sent {
            self.sent = wanted;
            speaker.send(SpeakerCommand::Duck(wanted));
        }
    }
}

/// The service status from both directions: `unavailable` (with every reason) while either lacks
/// its device, else `online`.
struct Health {
    mic: Side,
    speaker: Side,
}

impl Health {
    async fn set_mic(&mut self, side: Side, client: &BusClient) {
        if self.mic != side {
            self.mic = side;
            self.publish(client).await;
        }
    }

    async fn set_speaker(&mut self, side: Side, client: &BusClient) {
        if self.speaker != side {
            self.speaker = side;
            self.publish(client).await;
        }
    }

    async fn publish(&self, client: &BusClient) {
        let problems: Vec<&str> = [&self.mic, &self.speaker]
            .into_iter()
            .filter_map(|s| match s {
                Side::Unavailable(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        let (state, detail) =
            if problems.is_empty() { (ServiceState::Online, None) } else { (ServiceState::Unavailable, Some(problems.join("; "))) };
        let describe = |name: &str, s: &Side| match s {
            Side::Off => format!("{name}:none"),
            Side::Starting => format!("{name}:starting"),
            Side::Ready(what) => format!("{name}:{what}"),
            Side::Unavailable(_) => format!("{name}:unavailable"),
        };
        let capabilities = vec![describe("mic", &self.mic), describe("speaker", &self.speaker), "chimes".into()];
        if let Err(error) = client.set_capabilities(capabilities).await {
            warn!(%error, "cannot publish capabilities");
        }
        if let Err(error) = client.set_status(state, detail).await {
            warn!(%error, "cannot publish status");
        }
    }
}
