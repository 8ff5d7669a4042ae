//! The playback queue: utterances in, one mono stream at the sink's rate out.
//!
//! Utterances play one after another in arrival order; within one, chunks play in `seq` order
//! (early ones wait for the gap to fill). An utterance starts as soon as its first chunk is there;
//! when it runs dry before its `last` chunk the sink plays silence and the utterance waits, up to a
//! timeout so that a lost chunk cannot block the speaker for ever.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use hearth_bus::audio::{pcm_to_samples, PlayChunk, Played};
use tracing::{debug, warn};

use crate::resample::{check_rate, downmix_into, StreamResampler};
use crate::AudioError;

/// How many finished or stopped utterance ids are remembered, so their late chunks are dropped
/// instead of starting them again.
const REMEMBERED_IDS: usize = 64;
/// Volume changes ramp over this long to avoid clicks, seconds.
const GAIN_RAMP_S: f32 = 0.02;

/// What the player reports to the service.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// Sound started (true) or the queue ran empty (false): other sound should duck meanwhile.
    Duck(bool),
    /// An utterance ended, played through or cut.
    Finished(Played),
}

/// Amplitude factor for a volume in percent: a squared taper, so the lower half of the range is
/// usable (50 % is a quarter of the amplitude, about -12 dB).
pub fn gain_for(volume_percent: u8) -> f32 {
    let v = volume_percent.min(100) as f32 / 100.0;
    v * v
}

struct Utterance {
    id: String,
    session_id: Option<String>,
    next_seq: u32,
    /// Chunks that arrived ahead of a missing one.
    early: BTreeMap<u32, PlayChunk>,
    resampler: Option<(u16, StreamResampler)>,
    ready: VecDeque<f32>,
    /// The `last` chunk is decoded: everything is in `ready`.
    complete: bool,
    played_samples: u64,
    started: bool,
    /// When it ran dry while waiting for a chunk.
    dry_since: Option<Instant>,
}

/// The playback queue and mixer.
pub struct Player {
    out_rate_hz: u32,
    queue: VecDeque<Utterance>,
    volume: u8,
    gain: f32,
    ducking: bool,
    max_queued_samples: usize,
    chunk_timeout: Duration,
    done_ids: VecDeque<String>,
    scratch: Vec<f32>,
}

impl Player {
    pub fn new(out_rate_hz: u32, volume_percent: u8, max_queued_s: u32, chunk_timeout: Duration) -> Self {
        Self {
            out_rate_hz,
            queue: VecDeque::new(),
            volume: volume_percent.min(100),
            gain: gain_for(volume_percent),
            ducking: false,
            max_queued_samples: max_queued_s as usize * out_rate_hz as usize,
            chunk_timeout,
            done_ids: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    pub fn out_rate_hz(&self) -> u32 {
        self.out_rate_hz
    }

    pub fn volume(&self) -> u8 {
        self.volume
    }

    pub fn set_volume(&mut self, percent: u8) {
        self.volume = percent.min(100);
    }

    /// Whether anything is queued or playing.
    pub fn is_busy(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Whether [`Player::render`] would produce audio or finish an utterance right now.
    pub fn has_work(&self) -> bool {
        self.queue.front().is_some_and(|u| !u.ready.is_empty() || u.complete)
    }

    /// Ids of the utterances queued, current first.
    pub fn queued_ids(&self) -> Vec<String> {
        self.queue.iter().map(|u| u.id.clone()).collect()
    }

    /// Adds one chunk. Chunks of an utterance that already finished or was stopped are dropped.
    pub fn push_chunk(&mut self, chunk: PlayChunk) -> Result<(), AudioError> {
        if self.done_ids.contains(&chunk.utterance_id) {
            return Err(AudioError::StaleChunk { utterance_id: chunk.utterance_id, seq: chunk.seq });
        }
        let idx = match self.queue.iter().position(|u| u.id == chunk.utterance_id) {
            Some(i) => i,
            None => {
                self.queue.push_back(Utterance::new(chunk.utterance_id.clone(), chunk.session_id.clone()));
                self.queue.len() - 1
            }
        };
        let queued: usize = self.queue.iter().map(|u| u.ready.len()).sum();
        let over = queued >= self.max_queued_samples;
        let u = &mut self.queue[idx];
        if chunk.seq < u.next_seq || u.early.contains_key(&chunk.seq) {
            return Err(AudioError::DuplicateChunk { utterance_id: chunk.utterance_id, seq: chunk.seq });
        }
        u.dry_since = None;
        let mut chunk = chunk;
        if over {
            warn!(utterance_id = %chunk.utterance_id, seq = chunk.seq, "playback queue full, dropping chunk audio");
            chunk.pcm.clear();
        }
        u.early.insert(chunk.seq, chunk);
        let mut result = Ok(());
        while let Some(next) = u.early.remove(&u.next_seq) {
            u.next_seq = u.next_seq.saturating_add(1);
            // A chunk with a bad format still counts (its seq and `last`), with no sound.
            if let Err(e) = u.decode(&next, self.out_rate_hz, &mut self.scratch) {
                result = Err(e);
            }
        }
        result
    }

    /// Queues a clip already at the output rate (a chime) as an utterance of its own.
    pub fn push_clip(&mut self, id: String, session_id: Option<String>, samples: &[i16]) {
        let mut u = Utterance::new(id, session_id);
        u.ready.extend(samples.iter().map(|&s| s as f32 / 32768.0));
        u.complete = true;
        self.queue.push_back(u);
    }

    /// Cuts what plays and drops the queue: every utterance gets a `Finished` with
    /// `interrupted = true`.
    pub fn stop(&mut self) -> Vec<PlayerEvent> {
        let mut events = Vec::new();
        while let Some(u) = self.queue.pop_front() {
            events.push(self.finish(u, true));
        }
        if self.ducking {
            self.ducking = false;
            events.push(PlayerEvent::Duck(false));
        }
        events
    }

    /// Fills `out` (mono, at the output rate) from the queue. Returns how many samples were written
    /// from the front of `out`: fewer than its length when the queue is empty or the current
    /// utterance waits for its next chunk (the sink then plays silence or nothing).
    pub fn render(&mut self, out: &mut [f32], now: Instant, events: &mut Vec<PlayerEvent>) -> usize {
        let mut written = 0;
        let step = 1.0 / (GAIN_RAMP_S * self.out_rate_hz as f32);
        let target = gain_for(self.volume);
        while written < out.len() {
            let Some(u) = self.queue.front_mut() else { break };
            if !u.started {
                u.started = true;
                if !self.ducking {
                    self.ducking = true;
                    events.push(PlayerEvent::Duck(true));
                }
            }
            let n = u.ready.len().min(out.len() - written);
            for (o, s) in out[written..written + n].iter_mut().zip(u.ready.drain(..n)) {
                if self.gain != target {
                    self.gain = if self.gain < target { (self.gain + step).min(target) } else { (self.gain - step).max(target) };
                }
                *o = s * self.gain;
            }
            u.played_samples += n as u64;
            written += n;
            if !u.ready.is_empty() {
                continue;
            }
            if u.complete {
                let u = self.queue.pop_front().expect("front exists");
                events.push(self.finish(u, false));
                continue;
            }
            let since = *u.dry_since.get_or_insert(now);
            if now.duration_since(since) >= self.chunk_timeout {
                warn!(utterance_id = %u.id, next_seq = u.next_seq, "no chunk for too long, closing the utterance");
                let u = self.queue.pop_front().expect("front exists");
                events.push(self.finish(u, true));
                continue;
            }
            break;
        }
        if self.queue.is_empty() && self.ducking {
            self.ducking = false;
            events.push(PlayerEvent::Duck(false));
        }
        written
    }

    fn finish(&mut self, u: Utterance, interrupted: bool) -> PlayerEvent {
        if self.done_ids.len() >= REMEMBERED_IDS {
            self.done_ids.pop_front();
        }
        self.done_ids.push_back(u.id.clone());
        let duration_ms = u.played_samples * 1000 / self.out_rate_hz as u64;
        debug!(utterance_id = %u.id, duration_ms, interrupted, "utterance finished");
        PlayerEvent::Finished(Played { utterance_id: u.id, session_id: u.session_id, duration_ms, interrupted })
    }
}

impl Utterance {
    fn new(id: String, session_id: Option<String>) -> Self {
        Self {
            id,
            session_id,
            next_seq: 0,
            early: BTreeMap::new(),
            resampler: None,
            ready: VecDeque::new(),
            complete: false,
            played_samples: 0,
            started: false,
            dry_since: None,
        }
    }

    /// Decodes one in-order chunk into `ready`.
    fn decode(&mut self, chunk: &PlayChunk, out_rate_hz: u32, scratch: &mut Vec<f32>) -> Result<(), AudioError> {
        let result = self.decode_audio(chunk, out_rate_hz, scratch);
        if chunk.last {
            if let Some((_, r)) = self.resampler.as_mut() {
                scratch.clear();
                r.flush(scratch)?;
                self.ready.extend(scratch.iter().copied());
            }
            self.complete = true;
        }
        result
    }

    fn decode_audio(&mut self, chunk: &PlayChunk, out_rate_hz: u32, scratch: &mut Vec<f32>) -> Result<(), AudioError> {
        if chunk.pcm.is_empty() {
            return Ok(());
        }
        check_rate(chunk.sample_rate_hz)?;
        if chunk.channels == 0 {
            return Err(AudioError::BadChannels { channels: 0 });
        }
        let same = self
            .resampler
            .as_ref()
            .is_some_and(|(ch, r)| *ch == chunk.channels && r.in_rate_hz() == chunk.sample_rate_hz);
        if !same {
            // The format changed mid-utterance: finish the old stream, start a new one.
            if let Some((_, mut old)) = self.resampler.take() {
                scratch.clear();
                old.flush(scratch)?;
                self.ready.extend(scratch.iter().copied());
            }
            self.resampler = Some((chunk.channels, StreamResampler::new(chunk.sample_rate_hz, out_rate_hz)?));
        }
        let (channels, r) = self.resampler.as_mut().expect("just set");
        let interleaved: Vec<f32> = pcm_to_samples(&chunk.pcm).iter().map(|&s| s as f32 / 32768.0).collect();
        let mut mono = Vec::with_capacity(interleaved.len() / *channels as usize);
        downmix_into(&interleaved, *channels as usize, &mut mono);
        scratch.clear();
        r.push(&mono, scratch)?;
        self.ready.extend(scratch.iter().copied());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_bus::audio::samples_to_pcm;

    fn chunk(id: &str, seq: u32, rate: u32, samples: &[i16], last: bool) -> PlayChunk {
        PlayChunk {
            utterance_id: id.into(),
            session_id: Some("s".into()),
            seq,
            sample_rate_hz: rate,
            channels: 1,
            pcm: samples_to_pcm(samples),
            last,
        }
    }

    fn finished(events: &[PlayerEvent]) -> Vec<(String, u64, bool)> {
        events
            .iter()
            .filter_map(|e| match e {
                PlayerEvent::Finished(p) => Some((p.utterance_id.clone(), p.duration_ms, p.interrupted)),
                _ => None,
            })
            .collect()
    }

    fn render_all(p: &mut Player, now: Instant) -> (Vec<f32>, Vec<PlayerEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        let mut buf = vec![0.0; 160];
        loop {
            let n = p.render(&mut buf, now, &mut events);
            out.extend_from_slice(&buf[..n]);
            if n < buf.len() {
                return (out, events);
            }
        }
    }

    #[test]
    fn two_utterances_play_in_order_with_chunks_sorted() {
        let now = Instant::now();
        let mut p = Player::new(16_000, 100, 60, Duration::from_secs(5));
        // Utterance a: 1000 samples of 1000, chunks arrive 1, 0, 2(last).
        p.push_chunk(chunk("a", 1, 16_000, &[2000; 400], false)).unwrap();
        p.push_chunk(chunk("b", 0, 16_000, &[-3000; 800], true)).unwrap();
        assert!(!p.has_work(), "a waits for chunk 0");
        p.push_chunk(chunk("a", 0, 16_000, &[1000; 600], false)).unwrap();
        p.push_chunk(chunk("a", 2, 16_000, &[], true)).unwrap();
        let (out, events) = render_all(&mut p, now);
        assert_eq!(out.len(), 1800);
        assert!(out[..600].iter().all(|&s| (s - 1000.0 / 32768.0).abs() < 1e-4));
        assert!(out[600..1000].iter().all(|&s| (s - 2000.0 / 32768.0).abs() < 1e-4));
        assert!(out[1000..].iter().all(|&s| (s + 3000.0 / 32768.0).abs() < 1e-4));
        assert_eq!(finished(&events), vec![("a".into(), 62, false), ("b".into(), 50, false)]);
        assert_eq!(events.first(), Some(&PlayerEvent::Duck(true)));
        assert_eq!(events.last(), Some(&PlayerEvent::Duck(false)));
        assert!(!p.is_busy());
    }

    #[test]
    fn starts_before_the_last_chunk_and_waits_through_a_gap() {
        let now = Instant::now();
        let mut p = Player::new(16_000, 100, 60, Duration::from_secs(5));
        p.push_chunk(chunk("a", 0, 16_000, &[500; 320], false)).unwrap();
        let mut events = Vec::new();
        let mut buf = vec![0.0; 1000];
        assert_eq!(p.render(&mut buf, now, &mut events), 320);
        assert_eq!(events, vec![PlayerEvent::Duck(true)]);
        assert_eq!(p.render(&mut buf, now + Duration::from_secs(1), &mut events), 0);
        p.push_chunk(chunk("a", 1, 16_000, &[500; 320], true)).unwrap();
        assert_eq!(p.render(&mut buf, now + Duration::from_secs(2), &mut events), 320);
        assert_eq!(finished(&events), vec![("a".into(), 40, false)]);
    }

    #[test]
    fn a_lost_chunk_times_out() {
        let now = Instant::now();
        let mut p = Player::new(16_000, 100, 60, Duration::from_millis(500));
        p.push_chunk(chunk("a", 0, 16_000, &[500; 160], false)).unwrap();
        p.push_chunk(chunk("a", 2, 16_000, &[500; 160], true)).unwrap();
        p.push_chunk(chunk("b", 0, 16_000, &[500; 160], true)).unwrap();
        let mut events = Vec::new();
        let mut buf = vec![0.0; 1000];
        assert_eq!(p.render(&mut buf, now, &mut events), 160);
        assert_eq!(p.render(&mut buf, now + Duration::from_millis(400), &mut events), 0);
        assert_eq!(p.render(&mut buf, now + Duration::from_millis(600), &mut events), 160);
        assert_eq!(finished(&events), vec![("a".into(), 10, true), ("b".into(), 10, false)]);
    }

    #[test]
    fn stop_interrupts_everything_and_late_chunks_are_dropped() {
        let now = Instant::now();
        let mut p = Player::new(16_000, 100, 60, Duration::from_secs(5));
        p.push_chunk(chunk("a", 0, 16_000, &[500; 1600], false)).unwrap();
        p.push_chunk(chunk("b", 0, 16_000, &[500; 1600], true)).unwrap();
        let mut events = Vec::new();
        let mut buf = vec![0.0; 800];
        p.render(&mut buf, now, &mut events);
        events.extend(p.stop());
        assert_eq!(finished(&events), vec![("a".into(), 50, true), ("b".into(), 0, true)]);
        assert_eq!(events.last(), Some(&PlayerEvent::Duck(false)));
        assert!(matches!(p.push_chunk(chunk("a", 1, 16_000, &[500; 160], true)), Err(AudioError::StaleChunk { .. })));
        assert!(!p.is_busy());
    }

    #[test]
    fn resamples_each_utterance_to_the_output_rate() {
        let now = Instant::now();
        let mut p = Player::new(48_000, 100, 60, Duration::from_secs(5));
        let tone: Vec<i16> = (0..22_050).map(|i| ((i as f32 * 0.1).sin() * 8000.0) as i16).collect();
        for (seq, part) in tone.chunks(4410).enumerate() {
            p.push_chunk(chunk("a", seq as u32, 22_050, part, false)).unwrap();
        }
        p.push_chunk(chunk("a", 5, 22_050, &[], true)).unwrap();
        let (out, events) = render_all(&mut p, now);
        assert_eq!(out.len(), 48_000);
        assert_eq!(finished(&events), vec![("a".into(), 1000, false)]);
    }

    #[test]
    fn volume_scales_with_a_squared_taper() {
        let now = Instant::now();
        for (volume, expect) in [(100u8, 1.0f32), (50, 0.25), (0, 0.0)] {
            let mut p = Player::new(16_000, volume, 60, Duration::from_secs(5));
            p.push_chunk(chunk("a", 0, 16_000, &[16_384; 1600], true)).unwrap();
            let (out, _) = render_all(&mut p, now);
            assert!(out.iter().all(|&s| (s - 0.5 * expect).abs() < 1e-4), "volume {volume}");
        }
        // A change mid-utterance ramps, then holds.
        let mut p = Player::new(16_000, 100, 60, Duration::from_secs(5));
        p.push_chunk(chunk("a", 0, 16_000, &[16_384; 3200], true)).unwrap();
        let mut buf = vec![0.0; 1600];
        let mut events = Vec::new();
        p.render(&mut buf, now, &mut events);
        p.set_volume(50);
        p.render(&mut buf, now, &mut events);
        assert!(buf[0] > 0.45, "no jump: {}", buf[0]);
        assert!((buf[1599] - 0.125).abs() < 1e-4);
    }

    #[test]
    fn bad_chunks_cost_their_sound_not_the_utterance() {
        let now = Instant::now();
        let mut p = Player::new(16_000, 100, 60, Duration::from_secs(5));
        p.push_chunk(chunk("a", 0, 16_000, &[500; 160], false)).unwrap();
        assert!(p.push_chunk(chunk("a", 1, 0, &[500; 160], false)).is_err());
        assert!(p.push_chunk(chunk("a", 1, 16_000, &[500; 160], false)).is_err(), "duplicate");
        let mut weird = chunk("a", 2, 16_000, &[500; 160], true);
        weird.channels = 0;
        assert!(p.push_chunk(weird).is_err());
        let (out, events) = render_all(&mut p, now);
        assert_eq!(out.len(), 160);
        assert_eq!(finished(&events), vec![("a".into(), 10, false)]);
    }

    #[test]
    fn stereo_chunks_are_downmixed() {
        let now = Instant::now();
        let mut p = Player::new(16_000, 100, 60, Duration::from_secs(5));
        let mut c = chunk("a", 0, 16_000, &[1000, 3000, 1000, 3000], true);
        c.channels = 2;
        p.push_chunk(c).unwrap();
        let (out, _) = render_all(&mut p, now);
        assert_eq!(out.len(), 2);
        assert!((out[0] - 2000.0 / 32768.0).abs() < 1e-4);
    }

    #[test]
    fn the_queue_has_a_limit() {
        let now = Instant::now();
        let mut p = Player::new(16_000, 100, 1, Duration::from_secs(5));
        p.push_chunk(chunk("a", 0, 16_000, &[500; 16_000], false)).unwrap();
        p.push_chunk(chunk("a", 1, 16_000, &[500; 16_000], true)).unwrap();
        let (out, _) = render_all(&mut p, now);
        assert_eq!(out.len(), 16_000);
    }
}
