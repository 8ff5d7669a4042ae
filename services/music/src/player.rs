//! One room's player: the queue, the stream being sent and those the speaker still plays, and the
//! flow control between them. The service owns one per site and feeds it tool calls, controls,
//! chunks from the producers and the speaker's feedback.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_bus::ids::now_ms;
use hearth_bus::music::{MusicChunk, MusicFeedback, MusicSource, MusicState, PlaybackState, RepeatMode};
use tracing::{debug, info, warn};

use crate::library::Library;
use crate::queue::{Item, Queue};
use crate::stream::{self, Produced, Producer, Source};

/// A stream sent (at least partly) that the speaker has not finished.
#[derive(Debug)]
struct Sent {
    stream_id: String,
    /// Queue position it plays.
    position: usize,
    item: Item,
    /// Where in the item the stream started, milliseconds.
    offset_ms: u64,
    sent_ms: u64,
    played_ms: u64,
    /// Its last chunk was sent.
    complete: bool,
}

/// What the player wants the service to do after a step.
#[derive(Debug, Default)]
pub struct Outbox {
    pub chunks: Vec<MusicChunk>,
    pub flush: Option<&'static str>,
    pub state_changed: bool,
}

/// The speaker has not reported for this long while music was sent: it is gone; stop.
const SILENT_SPEAKER: Duration = Duration::from_secs(10);

pub struct Player {
    pub queue: Queue,
    pub state: PlaybackState,
    producer: Option<Producer>,
    /// The position the producer plays, and where in it it started.
    producing: Option<(usize, u64)>,
    /// The producer's chunk taken but not yet allowed out.
    held: Option<MusicChunk>,
    sent: VecDeque<Sent>,
    /// After a pause: where to resume (position, milliseconds into it).
    resume_at: Option<(usize, u64)>,
    last_feedback: Instant,
    rate_hz: u32,
    pub lead_ms: u64,
    chunk_ms: u32,
    http: Option<crate::radio::Http>,
    /// The reason the last item could not play, for the next tool answer.
    pub last_failure: Option<String>,
}

impl Player {
    pub fn new(rate_hz: u32, lead_ms: u32, chunk_ms: u32, http: Option<crate::radio::Http>) -> Player {
        Player {
            queue: Queue::default(),
            state: PlaybackState::Stopped,
            producer: None,
            producing: None,
            held: None,
            sent: VecDeque::new(),
            resume_at: None,
            last_feedback: Instant::now(),
            rate_hz,
            lead_ms: lead_ms as u64,
            chunk_ms,
            http,
            last_failure: None,
        }
    }

    pub fn set_rate(&mut self, rate_hz: u32) {
        self.rate_hz = rate_hz;
    }

    /// Replaces the queue and starts its first item.
    pub fn play(&mut self, library: &Library, queue: Queue, out: &mut Outbox) {
        self.cut(out, "play");
        self.queue = queue;
        self.resume_at = None;
        self.start(library, 0, 0, out);
    }

    pub fn pause(&mut self, out: &mut Outbox) -> bool {
        if self.state != PlaybackState::Playing {
            return false;
        }
        self.resume_at = self.audible().map(|s| (s.position, s.offset_ms + s.played_ms)).or(self.producing);
        self.cut(out, "pause");
        self.state = PlaybackState::Paused;
        true
    }

    pub fn resume(&mut self, library: &Library, out: &mut Outbox) -> bool {
        if self.state != PlaybackState::Paused {
            return false;
        }
        let (position, offset) = self.resume_at.take().unwrap_or((self.queue.position, 0));
        self.start(library, position, offset, out);
        true
    }

    pub fn stop(&mut self, out: &mut Outbox) -> bool {
        let was = self.state != PlaybackState::Stopped;
        self.cut(out, "stop");
        self.state = PlaybackState::Stopped;
        self.resume_at = None;
        out.state_changed = true;
        was
    }

    /// "Next": false at the end of the queue (then nothing changes).
    pub fn next(&mut self, library: &Library, out: &mut Outbox) -> bool {
        let Some(to) = self.queue.skip_forward(self.current_position()) else { return false };
        self.cut(out, "next");
        self.start(library, to, 0, out);
        true
    }

    /// "Previous": the one before, or this one from its start when it has played a few seconds.
    pub fn previous(&mut self, library: &Library, out: &mut Outbox) {
        let here = self.current_position();
        let played = self.audible().map_or(0, |s| s.offset_ms + s.played_ms);
        let to = if played > 3000 { here } else { self.queue.skip_back(here) };
        self.cut(out, "previous");
        self.start(library, to, 0, out);
    }

    /// The item the speaker plays now (or the paused one).
    pub fn now_playing(&self) -> Option<&Item> {
        match self.state {
            PlaybackState::Stopped | PlaybackState::Unknown => None,
            PlaybackState::Paused => self.resume_at.and_then(|(p, _)| self.queue.items.get(p)),
            PlaybackState::Playing => self.audible().map(|s| &s.item).or_else(|| self.queue.current()),
        }
    }

    fn current_position(&self) -> usize {
        self.audible().map(|s| s.position).or(self.resume_at.map(|(p, _)| p)).unwrap_or(self.queue.position)
    }

    fn audible(&self) -> Option<&Sent> {
        self.sent.front()
    }

    /// Drops the producer and everything at the speaker.
    fn cut(&mut self, out: &mut Outbox, reason: &'static str) {
        let had = self.producer.is_some() || !self.sent.is_empty();
        self.producer = None;
        self.producing = None;
        self.held = None;
        self.sent.clear();
        if had {
            out.flush = Some(reason);
        }
        out.state_changed = true;
    }

    /// Starts the producer for `position`, from `offset_ms` into it.
    fn start(&mut self, library: &Library, position: usize, offset_ms: u64, out: &mut Outbox) {
        let Some(item) = self.queue.items.get(position).cloned() else {
            self.state = PlaybackState::Stopped;
            out.state_changed = true;
            return;
        };
        let source = match &item {
            Item::Track(t) => Source::File(library.full_path(t)),
            Item::Station(s) => Source::Radio(s.clone()),
        };
        self.queue.position = position;
        self.producer = Some(stream::start(source, offset_ms, self.rate_hz, self.chunk_ms, self.http.clone()));
        self.producing = Some((position, offset_ms));
        self.state = PlaybackState::Playing;
        self.last_feedback = Instant::now();
        out.state_changed = true;
    }

    /// Audio sent and not yet played, over every unfinished stream, milliseconds.
    fn in_flight_ms(&self) -> u64 {
        self.sent.iter().map(|s| s.sent_ms.saturating_sub(s.played_ms)).sum()
    }

    /// Whether the service should take the next produced chunk now.
    pub fn wants_chunk(&self) -> bool {
        self.producer.is_some() && self.held.is_none() && self.in_flight_ms() + self.chunk_ms as u64 <= self.lead_ms
    }

    /// The producer's receiving end, while one runs.
    pub fn producer_rx(&mut self) -> Option<&mut tokio::sync::mpsc::Receiver<Produced>> {
        self.producer.as_mut().map(|p| &mut p.rx)
    }

    /// Takes what the producer made: a chunk goes out (the stream is now in flight); a failure
    /// skips to the next item; the last chunk starts the next item's producer at once, so tracks
    /// follow each other without a gap.
    pub fn on_produced(&mut self, library: &Library, produced: Option<Produced>, out: &mut Outbox) {
        let Some((position, offset_ms)) = self.producing else { return };
        let stream_id = self.producer.as_ref().map(|p| p.stream_id.clone()).unwrap_or_default();
        match produced {
            Some(Produced::Chunk(chunk)) => {
                let ms = chunk.pcm.len() as u64 / 2 * 1000 / chunk.sample_rate_hz.max(1) as u64;
                if !self.sent.iter().any(|s| s.stream_id == chunk.stream_id) {
                    let item = self.queue.items[position].clone();
                    self.sent.push_back(Sent { stream_id: chunk.stream_id.clone(), position, item, offset_ms, sent_ms: 0, played_ms: 0, complete: false });
                }
                let s = self.sent.iter_mut().find(|s| s.stream_id == chunk.stream_id).expect("just added");
                s.sent_ms += ms;
                let last = chunk.last;
                s.complete = last;
                out.chunks.push(chunk);
                if last {
                    self.producer = None;
                    self.producing = None;
                    match self.queue.after(position) {
                        Some(next) => self.start(library, next, 0, out),
                        None => debug!("queue ends after this stream"),
                    }
                }
            }
            Some(Produced::Failed(why)) => {
                warn!(%stream_id, %why, "item failed");
                self.last_failure = Some(why);
                self.producer = None;
                self.producing = None;
                let started = self.sent.iter().any(|s| s.stream_id == stream_id);
                // A broken file is skipped; a whole queue of them is not looped for ever.
                match self.queue.skip_forward(position).filter(|&n| n != position && (started || n > position)) {
                    Some(next) => self.start(library, next, 0, out),
                    None if self.sent.is_empty() => {
                        self.state = PlaybackState::Stopped;
                        out.state_changed = true;
                    }
                    None => {}
                }
            }
            None => {
                // The producer thread ended without a word (it panicked): treat as a failure.
                self.on_produced(library, Some(Produced::Failed("the decoder stopped".into())), out);
            }
        }
    }

    /// The speaker's progress.
    pub fn on_feedback(&mut self, f: &MusicFeedback, out: &mut Outbox) {
        let Some(i) = self.sent.iter().position(|s| s.stream_id == f.stream_id) else { return };
        self.last_feedback = Instant::now();
        self.sent[i].played_ms = self.sent[i].played_ms.max(f.played_ms);
        if f.finished {
            let done = self.sent.remove(i).expect("found");
            info!(stream_id = %done.stream_id, played_ms = f.played_ms, lost = f.lost_chunks, "stream played");
            if !done.complete && self.producing.is_some_and(|(p, _)| p == done.position) {
                // The speaker gave up on a stream still being sent (no speaker, or it stalled).
                self.producer = None;
                self.producing = None;
            }
            if self.sent.is_empty() && self.producer.is_none() {
                self.state = PlaybackState::Stopped;
            }
            out.state_changed = true;
        } else if i == 0 && f.played_ms > 0 && self.queue.position != self.sent[0].position {
            self.queue.position = self.sent[0].position;
            out.state_changed = true;
        }
    }

    /// Stops when the speaker stopped reporting while music was in flight.
    pub fn check_speaker(&mut self, out: &mut Outbox) {
        if self.state == PlaybackState::Playing && !self.sent.is_empty() && self.last_feedback.elapsed() > SILENT_SPEAKER {
            warn!("the speaker stopped reporting; stopping the music");
            self.stop(out);
        }
    }

    /// The retained state.
    pub fn state_message(&self) -> MusicState {
        let mut m = MusicState { state: self.state, shuffle: self.queue.shuffle, repeat: self.queue.repeat, timestamp_ms: now_ms(), ..Default::default() };
        match self.now_playing() {
            Some(Item::Track(t)) => {
                m.source = Some(MusicSource::Library);
                m.title = Some(t.title.clone());
                m.artist = t.artist_name().map(str::to_string);
                m.album = t.album.clone();
                m.queue_position = Some(self.current_position() as u32);
                m.queue_length = Some(self.queue.items.len() as u32);
            }
            Some(Item::Station(s)) => {
                m.source = Some(MusicSource::Radio);
                m.station = Some(s.name.clone());
            }
            None => {}
        }
        m
    }

    pub fn set_repeat(&mut self, mode: RepeatMode) {
        self.queue.repeat = mode;
    }
}

/// The shared, swappable library.
pub type SharedLibrary = Arc<std::sync::RwLock<Library>>;
