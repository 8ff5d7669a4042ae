//! The speaker thread: owns the [`Player`] and one sink (sound card, growing WAV file, or nothing),
//! takes commands from the service and reports what finished playing.
//!
//! A sound card keeps its own time: the thread keeps a short ring ahead of it and reports an
//! utterance as played once the device has taken its last sample. A file or `none` sink is
//! clocked by the thread itself, in real time or as fast as possible.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hearth_bus::audio::{ChimeKind, PlayChunk, Played};
use hearth_bus::ids::new_id;
use hearth_bus::music::{MusicChunk, MusicFeedback};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::config::{AudioConfig, OutputKind, Pacing};
use crate::device::{self, missing_device_message, Direction};
use crate::music::MusicMixer;
use crate::playback::{Player, PlayerEvent};
use crate::wav::WavSink;
use crate::{chime, AudioError};

/// Audio kept queued ahead of a sound card, milliseconds: enough to ride out scheduling hiccups,
/// short enough that `stop` is heard at once (the ring is also flushed on stop).
const RING_MS: u32 = 80;
const RETRY: Duration = Duration::from_secs(5);
/// Commands handled per loop turn at most, so that playback is never starved by a flood.
const COMMANDS_PER_TURN: usize = 256;
/// How often the progress of music streams is reported (the music service's flow control).
const MUSIC_FEEDBACK_EVERY: Duration = Duration::from_millis(250);

/// What the service asks of the speaker.
#[derive(Debug)]
pub enum SpeakerCommand {
    Chunk(PlayChunk),
    Chime { kind: ChimeKind, session_id: Option<String> },
    Stop,
    Volume(u8),
    Music(MusicChunk),
    /// Fade out and drop the queued music.
    MusicFlush,
    /// Duck music for a reason outside the speaker (wake word, listening, the brain's turn);
    /// speech and chimes playing duck it as well.
    Duck(bool),
}

/// What the speaker thread tells the service.
#[derive(Debug)]
pub enum SpeakerEvent {
    Player(PlayerEvent),
    Ready(String),
    Unavailable(String),
    /// The sink is open at this rate, Hertz (the music service sends at it).
    SinkRate(u32),
    /// Progress of a music stream.
    Music(MusicFeedback),
}

/// A running speaker thread.
pub struct Speaker {
    commands: std_mpsc::Sender<SpeakerCommand>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Speaker {
    pub fn start(config: &AudioConfig, volume: u8, events: mpsc::UnboundedSender<SpeakerEvent>) -> Result<Speaker, AudioError> {
        let kind = config.output_kind().map_err(|why| AudioError::Config { key: "audio.output", why })?;
        let (commands, rx) = std_mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let runner = Runner { rx, events, stop: stop.clone(), config: config.clone(), volume, duck: false, last_feedback: Instant::now() };
        let thread = std::thread::Builder::new()
            .name("hearth-speaker".into())
            .spawn(move || runner.run(kind))
            .map_err(|source| AudioError::Io { path: "hearth-speaker thread".into(), source })?;
        Ok(Speaker { commands, stop, thread: Some(thread) })
    }

    pub fn send(&self, command: SpeakerCommand) {
        let _ = self.commands.send(command);
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Runner {
    rx: std_mpsc::Receiver<SpeakerCommand>,
    events: mpsc::UnboundedSender<SpeakerEvent>,
    stop: Arc<AtomicBool>,
    config: AudioConfig,
    volume: u8,
    /// Music ducked for a reason outside the speaker.
    duck: bool,
    last_feedback: Instant,
}

fn chime_name(kind: ChimeKind) -> &'static str {
    match kind {
        ChimeKind::Listening => "listening",
        ChimeKind::GotIt => "got_it",
        ChimeKind::Timer => "timer",
        ChimeKind::Error => "error",
        ChimeKind::Unknown => "unknown",
    }
}

/// The utterance id a chime plays under (its `played` event carries it).
fn chime_id(kind: ChimeKind) -> String {
    format!("chime-{}-{}", chime_name(kind), &new_id()[..8])
}

impl Runner {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn emit(&self, event: SpeakerEvent) {
        let _ = self.events.send(event);
    }

    fn run(mut self, kind: OutputKind) {
        match kind {
            OutputKind::Device => self.device(),
            OutputKind::None => {
                self.emit(SpeakerEvent::Ready(format!("none ({:?} pacing)", self.config.output_pacing)));
                self.clocked(None);
            }
            OutputKind::File(path) => match WavSink::create(&path, self.config.file_sample_rate_hz) {
                Ok(sink) => {
                    info!(path = %path.display(), rate = sink.rate_hz(), "playing into a WAV file");
                    self.emit(SpeakerEvent::Ready(format!("file: {} ({} Hz)", path.display(), sink.rate_hz())));
                    self.clocked(Some(sink));
                }
                Err(e) => {
                    let message = format!("output file {} cannot be written: {e}. Fix `[audio] output = \"file:…\"`", path.display());
                    warn!(%message, "speaker unavailable");
                    self.emit(SpeakerEvent::Unavailable(message));
                    while !self.stopped() {
                        self.refuse_for(Duration::from_secs(1));
                    }
                }
            },
        }
    }

    /// Waits up to `wait` for a command, then takes what else is queued.
    fn commands(&self, wait: Duration) -> Vec<SpeakerCommand> {
        let mut out = Vec::new();
        let first = if wait.is_zero() { self.rx.try_recv().ok() } else { self.rx.recv_timeout(wait).ok() };
        if let Some(c) = first {
            out.push(c);
            while out.len() < COMMANDS_PER_TURN {
                match self.rx.try_recv() {
                    Ok(c) => out.push(c),
                    Err(_) => break,
                }
            }
        }
        out
    }

    /// Applies one command; true when it was a stop (the caller flushes its sink).
    fn apply(&mut self, player: &mut Player, mixer: &mut MusicMixer, command: SpeakerCommand, events: &mut Vec<PlayerEvent>) -> bool {
        match command {
            SpeakerCommand::Music(chunk) => {
                let (id, seq) = (chunk.stream_id.clone(), chunk.seq);
                match mixer.push_chunk(chunk, Instant::now()) {
                    Ok(()) => {}
                    Err(e @ (AudioError::StaleChunk { .. } | AudioError::DuplicateChunk { .. })) => debug!(stream_id = %id, seq, "{e}"),
                    Err(e) => warn!(stream_id = %id, seq, error = %e, "bad music chunk"),
                }
                false
            }
            SpeakerCommand::MusicFlush => {
                for f in mixer.flush() {
                    self.emit(SpeakerEvent::Music(f));
                }
                false
            }
            SpeakerCommand::Duck(on) => {
                self.duck = on;
                false
            }
            SpeakerCommand::Chunk(chunk) => {
                let (id, seq) = (chunk.utterance_id.clone(), chunk.seq);
                match player.push_chunk(chunk) {
                    Ok(()) => {}
                    Err(e @ AudioError::StaleChunk { .. }) => debug!(utterance_id = %id, seq, "{e}"),
                    Err(e) => warn!(utterance_id = %id, seq, error = %e, "bad play chunk"),
                }
                false
            }
            SpeakerCommand::Chime { kind: ChimeKind::Unknown, .. } => {
                warn!("unknown chime, not played");
                false
            }
            SpeakerCommand::Chime { kind, session_id } => {
                let samples = chime::render(kind, player.out_rate_hz());
                player.push_clip(chime_id(kind), session_id, &samples);
                false
            }
            SpeakerCommand::Volume(v) => {
                self.volume = v.min(100);
                player.set_volume(self.volume);
                mixer.set_volume(self.volume);
                false
            }
            SpeakerCommand::Stop => {
                events.extend(player.stop());
                true
            }
        }
    }

    /// No sink: every request is answered with an interrupted `played` of no duration, so nobody
    /// waits for sound that cannot come.
    fn refuse_for(&mut self, span: Duration) {
        let until = Instant::now() + span;
        while !self.stopped() && Instant::now() < until {
            for command in self.commands(Duration::from_millis(50)) {
                let played = |utterance_id: String, session_id: Option<String>| {
                    SpeakerEvent::Player(PlayerEvent::Finished(Played { utterance_id, session_id, duration_ms: 0, interrupted: true }))
                };
                match command {
                    SpeakerCommand::Chunk(c) if c.last => self.emit(played(c.utterance_id, c.session_id)),
                    SpeakerCommand::Chime { kind, session_id } if kind != ChimeKind::Unknown => {
                        self.emit(played(chime_id(kind), session_id))
                    }
                    SpeakerCommand::Volume(v) => self.volume = v.min(100),
                    SpeakerCommand::Duck(on) => self.duck = on,
                    // No speaker: the stream is reported as ended, so the music service stops sending.
                    SpeakerCommand::Music(c) if c.seq == 0 => self.emit(SpeakerEvent::Music(MusicFeedback {
                        stream_id: c.stream_id,
                        played_ms: 0,
                        buffered_ms: 0,
                        lost_chunks: 0,
                        finished: true,
                        ducked: false,
                    })),
                    _ => {}
                }
            }
        }
    }

    fn new_player(&self, rate_hz: u32) -> (Player, MusicMixer) {
        self.emit(SpeakerEvent::SinkRate(rate_hz));
        (
            Player::new(rate_hz, self.volume, self.config.max_queued_s, Duration::from_millis(self.config.chunk_timeout_ms)),
            MusicMixer::new(rate_hz, self.volume, self.config.mixer_settings()),
        )
    }

    /// Speech into `buf`, music added under it, ducked while speech plays or someone else asks.
    /// Returns how many samples of `buf` to play.
    fn render(&mut self, player: &mut Player, mixer: &mut MusicMixer, buf: &mut [f32], pad_music: bool, events: &mut Vec<PlayerEvent>) -> usize {
        let now = Instant::now();
        mixer.set_ducked(self.duck || player.is_busy());
        let speech = player.render(buf, now, events);
        if !mixer.is_active() {
            return speech;
        }
        buf[speech..].fill(0.0);
        let mut finished = Vec::new();
        let music = mixer.render(buf, pad_music, now, &mut finished);
        for f in finished {
            self.emit(SpeakerEvent::Music(f));
        }
        speech.max(music)
    }

    /// Reports music progress every [`MUSIC_FEEDBACK_EVERY`].
    fn report_music(&mut self, mixer: &MusicMixer) {
        if mixer.is_active() && self.last_feedback.elapsed() >= MUSIC_FEEDBACK_EVERY {
            self.last_feedback = Instant::now();
            for f in mixer.feedback() {
                self.emit(SpeakerEvent::Music(f));
            }
        }
    }

    /// A file or `none` sink, clocked here.
    fn clocked(&mut self, mut sink: Option<WavSink>) {
        let rate = self.config.file_sample_rate_hz;
        let (mut player, mut mixer) = self.new_player(rate);
        let realtime = self.config.output_pacing == Pacing::Realtime;
        let mut buf = vec![0.0f32; (rate / 50) as usize];
        let mut next_tick = Instant::now();
        let mut unflushed = 0usize;
        let mut events = Vec::new();
        while !self.stopped() {
            let now = Instant::now();
            // Music keeps a real-time sink running (a late chunk is silent music, the clock goes on);
            // a fast sink takes only what is there.
            let music_runs = mixer.is_active() && (realtime || mixer.will_play());
            let wait = if player.has_work() || music_runs {
                if realtime { next_tick.saturating_duration_since(now) } else { Duration::ZERO }
            } else if player.is_busy() || mixer.is_active() {
                Duration::from_millis(20)
            } else {
                Duration::from_millis(100)
            };
            for command in self.commands(wait) {
                if self.apply(&mut player, &mut mixer, command, &mut events) {
                    next_tick = Instant::now();
                }
            }
            let now = Instant::now();
            if (player.is_busy() || mixer.is_active()) && (!realtime || now >= next_tick) {
                let n = self.render(&mut player, &mut mixer, &mut buf, realtime, &mut events);
                if let (Some(s), true) = (sink.as_mut(), n > 0) {
                    if let Err(e) = s.write(&buf[..n]) {
                        warn!(error = %e, "cannot write the output file");
                    }
                    unflushed += n;
                }
                next_tick = if n > 0 {
                    (next_tick + Duration::from_secs_f64(n as f64 / rate as f64)).max(now - Duration::from_millis(100))
                } else {
                    now
                };
            }
            let finished = events.iter().any(|e| matches!(e, PlayerEvent::Finished(_)));
            if let Some(s) = sink.as_mut().filter(|_| unflushed > 0 && (finished || unflushed >= rate as usize / 5)) {
                // The file is complete up to here before anyone hears that an utterance was played.
                if let Err(e) = s.flush() {
                    warn!(error = %e, "cannot flush the output file");
                }
                unflushed = 0;
            }
            for e in events.drain(..) {
                self.emit(SpeakerEvent::Player(e));
            }
            self.report_music(&mixer);
        }
        if let Some(mut s) = sink {
            let _ = s.flush();
        }
    }

    /// A sound card, reopened every few seconds while it is missing or after it failed.
    fn device(&mut self) {
        let mut last_problem: Option<String> = None;
        let mut alsa = device::AlsaErrors::capture();
        while !self.stopped() {
            let playback = match device::open_playback(&self.config.output_device, RING_MS) {
                Ok(p) => p,
                Err(e) => {
                    let message = missing_device_message(Direction::Output, &e.to_string());
                    debug!(alsa = %alsa.take(), "alsa-lib said");
                    if last_problem.as_deref() != Some(message.as_str()) {
                        warn!(%message, "speaker unavailable");
                        self.emit(SpeakerEvent::Unavailable(message.clone()));
                        last_problem = Some(message);
                    }
                    self.refuse_for(RETRY);
                    continue;
                }
            };
            info!(device = %playback.description, "speaker open");
            self.emit(SpeakerEvent::Ready(format!("device: {}", playback.description)));
            if let Err(why) = self.device_loop(playback) {
                let message = missing_device_message(Direction::Output, &format!("the playback device failed: {why}"));
                warn!(%message, "speaker lost");
                self.emit(SpeakerEvent::Unavailable(message.clone()));
                last_problem = Some(message);
                self.refuse_for(RETRY);
            }
        }
    }

    fn device_loop(&mut self, mut pb: device::Playback) -> Result<(), String> {
        let (mut player, mut mixer) = self.new_player(pb.rate_hz);
        let mut buf = vec![0.0f32; (pb.rate_hz / 100) as usize];
        // Events wait until the device has taken the samples rendered before them.
        let mut pending: VecDeque<(u64, PlayerEvent)> = VecDeque::new();
        let mut pushed = 0u64;
        let mut events = Vec::new();
        while !self.stopped() {
            if let Some(why) = pb.failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
                for (_, e) in pending.drain(..) {
                    self.emit(SpeakerEvent::Player(interrupt(e)));
                }
                for e in player.stop() {
                    self.emit(SpeakerEvent::Player(e));
                }
                return Err(why);
            }
            let flushing = pb.flush.load(Ordering::Acquire);
            let room = !flushing && pb.samples.slots() > 0;
            let wait = if (player.has_work() || mixer.is_active()) && room { Duration::ZERO } else { Duration::from_millis(5) };
            for command in self.commands(wait) {
                if self.apply(&mut player, &mut mixer, command, &mut events) {
                    pb.flush.store(true, Ordering::Release);
                    // Whatever was waiting on the device was cut as well.
                    for (_, e) in pending.drain(..) {
                        self.emit(SpeakerEvent::Player(interrupt(e)));
                    }
                    for e in events.drain(..) {
                        self.emit(SpeakerEvent::Player(e));
                    }
                }
            }
            // After a stop, wait for the callback to empty the ring before filling it again.
            while (player.is_busy() || mixer.is_active()) && !pb.flush.load(Ordering::Acquire) && pb.samples.slots() > 0 {
                let want = pb.samples.slots().min(buf.len());
                let n = self.render(&mut player, &mut mixer, &mut buf[..want], true, &mut events);
                if n > 0 {
                    // `n` is at most the free slots, so all of it fits.
                    let _ = pb.samples.push_partial_slice(&buf[..n]);
                    pushed += n as u64;
                }
                if n < want {
                    break;
                }
            }
            pending.extend(events.drain(..).map(|e| (pushed, e)));
            let consumed = pb.consumed.load(Ordering::Acquire);
            while pending.front().is_some_and(|(at, _)| *at <= consumed) {
                let (_, e) = pending.pop_front().expect("front exists");
                self.emit(SpeakerEvent::Player(e));
            }
            self.report_music(&mixer);
        }
        Ok(())
    }
}

/// The same event, marked as cut short.
fn interrupt(event: PlayerEvent) -> PlayerEvent {
    match event {
        PlayerEvent::Finished(mut p) => {
            p.interrupted = true;
            PlayerEvent::Finished(p)
        }
        other => other,
    }
}
