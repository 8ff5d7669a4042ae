//! The music mixer: `music/chunk` streams in, added under the speech of the [`Player`] at the
//! sink's rate, ducked while the assistant listens or speaks.
//!
//! Streams play one after another (the next track follows the last chunk of the one before without a
//! gap). A stream starts once `prebuffer_ms` of it is here; after that it never waits: a chunk that
//! is late leaves a moment of silent music (speech goes on), a chunk that is missing when later ones
//! are already here is skipped and counted, and a stream that has received nothing for
//! `stall_timeout` while dry is dropped. A flush fades out over a few milliseconds rather than
//! cutting (no click). Ducking ramps in decibels: down fast, back up slower.
//!
//! [`Player`]: crate::playback::Player

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use hearth_bus::audio::pcm_to_samples;
use hearth_bus::music::{MusicChunk, MusicFeedback};
use tracing::{debug, warn};

use crate::playback::gain_for;
use crate::resample::{check_rate, downmix_into, StreamResampler};
use crate::AudioError;

/// Flushed stream ids remembered, so their late chunks do not start them again.
const REMEMBERED_IDS: usize = 64;
/// A flush fades the music out over this long, milliseconds.
const FADE_MS: u32 = 15;
/// Volume changes ramp over this long, seconds (as speech does).
const VOLUME_RAMP_S: f32 = 0.02;
/// The music level while nothing ducks it, dB.
const FULL_DB: f32 = 0.0;

/// How the mixer ducks and buffers, from the `[audio]` table.
#[derive(Debug, Clone, Copy)]
pub struct MixerSettings {
    /// Music level while ducked, dB (negative).
    pub duck_db: f32,
    /// Time to duck down, milliseconds.
    pub duck_ramp_ms: u32,
    /// Time to come back up, milliseconds.
    pub restore_ramp_ms: u32,
    /// Audio a stream must have before it starts, milliseconds.
    pub prebuffer_ms: u32,
    /// Most music held, seconds; chunks beyond it are dropped.
    pub max_buffer_s: u32,
    /// A dry stream that received nothing for this long is dropped.
    pub stall_timeout: Duration,
}

struct Stream {
    id: String,
    next_seq: u32,
    early: BTreeMap<u32, MusicChunk>,
    resampler: Option<(u16, u32, StreamResampler)>,
    ready: VecDeque<f32>,
    /// The `last` chunk is in `ready`.
    complete: bool,
    started: bool,
    played: u64,
    lost: u32,
    last_chunk_at: Instant,
}

/// The music mixer.
pub struct MusicMixer {
    out_rate_hz: u32,
    settings: MixerSettings,
    streams: VecDeque<Stream>,
    flushed: VecDeque<String>,
    /// The faded-out end of flushed music, still to be added.
    fade: VecDeque<f32>,
    ducked: bool,
    level_db: f32,
    volume: u8,
    gain: f32,
    scratch: Vec<f32>,
}

impl MusicMixer {
    pub fn new(out_rate_hz: u32, volume_percent: u8, settings: MixerSettings) -> MusicMixer {
        MusicMixer {
            out_rate_hz,
            settings,
            streams: VecDeque::new(),
            flushed: VecDeque::new(),
            fade: VecDeque::new(),
            ducked: false,
            level_db: FULL_DB,
            volume: volume_percent.min(100),
            gain: gain_for(volume_percent),
            scratch: Vec::new(),
        }
    }

    pub fn set_volume(&mut self, percent: u8) {
        self.volume = percent.min(100);
    }

    pub fn set_ducked(&mut self, ducked: bool) {
        self.ducked = ducked;
    }

    pub fn is_ducked(&self) -> bool {
        self.ducked
    }

    /// Whether music is queued, playing or fading out: the sink must keep running.
    pub fn is_active(&self) -> bool {
        !self.streams.is_empty() || !self.fade.is_empty()
    }

    /// Whether [`MusicMixer::render`] would take music right now (not only pad silence).
    pub fn will_play(&self) -> bool {
        let prebuffer = (self.settings.prebuffer_ms as u64 * self.out_rate_hz as u64 / 1000) as usize;
        !self.fade.is_empty()
            || self.streams.front().is_some_and(|s| {
                (s.started && !s.ready.is_empty()) || s.ready.len() >= prebuffer || s.complete || !s.early.is_empty()
            })
    }

    /// Adds one chunk. Chunks of flushed streams, duplicates and chunks too late to play are errors
    /// (the caller logs them at debug level; they cost nothing).
    pub fn push_chunk(&mut self, chunk: MusicChunk, now: Instant) -> Result<(), AudioError> {
        if self.flushed.contains(&chunk.stream_id) {
            return Err(AudioError::StaleChunk { utterance_id: chunk.stream_id, seq: chunk.seq });
        }
        let idx = match self.streams.iter().position(|s| s.id == chunk.stream_id) {
            Some(i) => i,
            None => {
                self.streams.push_back(Stream::new(chunk.stream_id.clone(), now));
                self.streams.len() - 1
            }
        };
        let held: usize = self.streams.iter().map(|s| s.ready.len()).sum();
        let full = held >= self.settings.max_buffer_s as usize * self.out_rate_hz as usize;
        let s = &mut self.streams[idx];
        s.last_chunk_at = now;
        if chunk.seq < s.next_seq || s.early.contains_key(&chunk.seq) {
            return Err(AudioError::DuplicateChunk { utterance_id: chunk.stream_id, seq: chunk.seq });
        }
        let mut chunk = chunk;
        if full {
            warn!(stream_id = %chunk.stream_id, seq = chunk.seq, "music buffer full, dropping chunk audio");
            chunk.pcm.clear();
        }
        s.early.insert(chunk.seq, chunk);
        s.take_in_order(self.out_rate_hz, &mut self.scratch)
    }

    /// Drops every stream, fading out what plays; returns their final feedback.
    pub fn flush(&mut self) -> Vec<MusicFeedback> {
        let fade_len = (FADE_MS * self.out_rate_hz / 1000) as usize;
        let gain = self.gain * db_to_gain(self.level_db);
        if let Some(front) = self.streams.front().filter(|s| s.started) {
            self.fade = front.ready.iter().take(fade_len).enumerate().map(|(i, s)| s * gain * (1.0 - i as f32 / fade_len as f32)).collect();
        }
        let mut out = Vec::new();
        while let Some(s) = self.streams.pop_front() {
            out.push(self.feedback_of(&s, true));
            if self.flushed.len() >= REMEMBERED_IDS {
                self.flushed.pop_front();
            }
            self.flushed.push_back(s.id);
        }
        out
    }

    /// Adds music into `out` (mono, at the sink rate, already holding speech). Returns how many
    /// samples from the front of `out` carry music: with `pad`, all of them while music is active
    /// (a late chunk is a moment of silent music, the clock goes on); without, only those taken from
    /// streams. Streams that ended or stalled are reported in `finished`.
    pub fn render(&mut self, out: &mut [f32], pad: bool, now: Instant, finished: &mut Vec<MusicFeedback>) -> usize {
        let rate = self.out_rate_hz as f32;
        let target_db = if self.ducked { self.settings.duck_db } else { FULL_DB };
        let span = -self.settings.duck_db.min(-0.1);
        let down_step = span / (self.settings.duck_ramp_ms.max(1) as f32 * rate / 1000.0);
        let up_step = span / (self.settings.restore_ramp_ms.max(1) as f32 * rate / 1000.0);
        let volume_target = gain_for(self.volume);
        let volume_step = 1.0 / (VOLUME_RAMP_S * rate);
        let prebuffer = (self.settings.prebuffer_ms as u64 * self.out_rate_hz as u64 / 1000) as usize;
        let mut covered = 0;
        for (i, o) in out.iter_mut().enumerate() {
            let mut sample = None;
            while let Some(s) = self.streams.front_mut() {
                if !s.started {
                    if s.ready.len() >= prebuffer || s.complete {
                        s.started = true;
                    } else {
                        break;
                    }
                }
                if let Some(x) = s.ready.pop_front() {
                    s.played += 1;
                    sample = Some(x);
                    break;
                }
                if s.complete {
                    let done = self.streams.pop_front().expect("front exists");
                    finished.push(self.feedback_of(&done, true));
                    continue;
                }
                // Dry: skip a gap when later chunks are here; else wait (silently) for the next.
                if s.skip_gap(self.out_rate_hz, &mut self.scratch) {
                    continue;
                }
                if now.duration_since(s.last_chunk_at) >= self.settings.stall_timeout {
                    warn!(stream_id = %s.id, next_seq = s.next_seq, "no music for too long, dropping the stream");
                    let done = self.streams.pop_front().expect("front exists");
                    finished.push(self.feedback_of(&done, true));
                    continue;
                }
                break;
            }
            let faded = self.fade.pop_front();
            // Padding (silent music while a stream waits for its next chunk) only while a stream is held.
            if sample.is_none() && faded.is_none() && (!pad || self.streams.is_empty()) {
                break;
            }
            // Ramps run only while something plays, so a stream starts at the level of the moment.
            if self.level_db != target_db {
                self.level_db = if self.level_db > target_db {
                    (self.level_db - down_step).max(target_db)
                } else {
                    (self.level_db + up_step).min(target_db)
                };
            }
            if self.gain != volume_target {
                self.gain = if self.gain < volume_target { (self.gain + volume_step).min(volume_target) } else { (self.gain - volume_step).max(volume_target) };
            }
            let music = sample.unwrap_or(0.0) * self.gain * db_to_gain(self.level_db) + faded.unwrap_or(0.0);
            *o = (*o + music).clamp(-1.0, 1.0);
            covered = i + 1;
        }
        covered
    }

    /// Progress of every stream held, for the music service's flow control.
    pub fn feedback(&self) -> Vec<MusicFeedback> {
        self.streams.iter().map(|s| self.feedback_of(s, false)).collect()
    }

    fn feedback_of(&self, s: &Stream, finished: bool) -> MusicFeedback {
        let ms = |n: u64| n * 1000 / self.out_rate_hz as u64;
        MusicFeedback {
            stream_id: s.id.clone(),
            played_ms: ms(s.played),
            buffered_ms: ms(s.ready.len() as u64),
            lost_chunks: s.lost,
            finished,
            ducked: self.ducked,
        }
    }
}

fn db_to_gain(db: f32) -> f32 {
    if db == 0.0 { 1.0 } else { 10f32.powf(db / 20.0) }
}

impl Stream {
    fn new(id: String, now: Instant) -> Stream {
        Stream {
            id,
            next_seq: 0,
            early: BTreeMap::new(),
            resampler: None,
            ready: VecDeque::new(),
            complete: false,
            started: false,
            played: 0,
            lost: 0,
            last_chunk_at: now,
        }
    }

    fn take_in_order(&mut self, out_rate_hz: u32, scratch: &mut Vec<f32>) -> Result<(), AudioError> {
        let mut result = Ok(());
        while let Some(next) = self.early.remove(&self.next_seq) {
            self.next_seq = self.next_seq.saturating_add(1);
            if let Err(e) = self.decode(&next, out_rate_hz, scratch) {
                result = Err(e);
            }
        }
        result
    }

    /// Jumps over missing chunks to the first one here; false when none is.
    fn skip_gap(&mut self, out_rate_hz: u32, scratch: &mut Vec<f32>) -> bool {
        let Some(&first) = self.early.keys().next() else { return false };
        debug!(stream_id = %self.id, missing = first - self.next_seq, "skipping lost music chunks");
        self.lost += first - self.next_seq;
        self.next_seq = first;
        if let Err(e) = self.take_in_order(out_rate_hz, scratch) {
            warn!(stream_id = %self.id, error = %e, "bad music chunk");
        }
        true
    }

    fn decode(&mut self, chunk: &MusicChunk, out_rate_hz: u32, scratch: &mut Vec<f32>) -> Result<(), AudioError> {
        let result = self.decode_audio(chunk, out_rate_hz, scratch);
        if chunk.last {
            if let Some((_, _, r)) = self.resampler.as_mut() {
                scratch.clear();
                r.flush(scratch)?;
                self.ready.extend(scratch.iter().copied());
            }
            self.complete = true;
        }
        result
    }

    fn decode_audio(&mut self, chunk: &MusicChunk, out_rate_hz: u32, scratch: &mut Vec<f32>) -> Result<(), AudioError> {
        if chunk.pcm.is_empty() {
            return Ok(());
        }
        check_rate(chunk.sample_rate_hz)?;
        if chunk.channels == 0 {
            return Err(AudioError::BadChannels { channels: 0 });
        }
        if !self.resampler.as_ref().is_some_and(|(ch, rate, _)| *ch == chunk.channels && *rate == chunk.sample_rate_hz) {
            self.resampler = Some((chunk.channels, chunk.sample_rate_hz, StreamResampler::new(chunk.sample_rate_hz, out_rate_hz)?));
        }
        let (channels, _, r) = self.resampler.as_mut().expect("just set");
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

    const RATE: u32 = 16_000;

    fn settings() -> MixerSettings {
        MixerSettings {
            duck_db: -20.0,
            duck_ramp_ms: 50,
            restore_ramp_ms: 200,
            prebuffer_ms: 100,
            max_buffer_s: 10,
            stall_timeout: Duration::from_secs(2),
        }
    }

    fn chunk(id: &str, seq: u32, value: i16, n: usize, last: bool) -> MusicChunk {
        MusicChunk { stream_id: id.into(), seq, sample_rate_hz: RATE, channels: 1, pcm: samples_to_pcm(&vec![value; n]), last }
    }

    fn render(m: &mut MusicMixer, n: usize, pad: bool, now: Instant, finished: &mut Vec<MusicFeedback>) -> (Vec<f32>, usize) {
        let mut out = vec![0.0; n];
        let covered = m.render(&mut out, pad, now, finished);
        (out, covered)
    }

    #[test]
    fn waits_for_the_prebuffer_then_plays_streams_back_to_back() {
        let now = Instant::now();
        let mut m = MusicMixer::new(RATE, 100, settings());
        let mut fin = Vec::new();
        m.push_chunk(chunk("a", 0, 8000, 800, false), now).unwrap();
        assert_eq!(render(&mut m, 160, false, now, &mut fin).1, 0, "50 ms is under the 100 ms prebuffer");
        m.push_chunk(chunk("a", 1, 8000, 800, true), now).unwrap();
        m.push_chunk(chunk("b", 0, -8000, 1600, true), now).unwrap();
        let (out, n) = render(&mut m, 4000, false, now, &mut fin);
        assert_eq!(n, 3200);
        assert!((out[0] - 8000.0 / 32768.0).abs() < 1e-3 && (out[1700] + 8000.0 / 32768.0).abs() < 1e-3);
        assert_eq!(fin.iter().map(|f| (f.stream_id.as_str(), f.played_ms, f.finished)).collect::<Vec<_>>(), [("a", 100, true), ("b", 100, true)]);
        assert!(!m.is_active());
    }

    #[test]
    fn a_lost_chunk_is_skipped_and_a_late_one_never_blocks() {
        let now = Instant::now();
        let mut m = MusicMixer::new(RATE, 100, settings());
        let mut fin = Vec::new();
        m.push_chunk(chunk("a", 0, 1000, 1600, false), now).unwrap();
        m.push_chunk(chunk("a", 2, 3000, 1600, false), now).unwrap();
        let (out, n) = render(&mut m, 3200, false, now, &mut fin);
        assert_eq!(n, 3200, "chunk 1 is skipped, chunk 2 follows");
        assert!((out[3199] - 3000.0 / 32768.0).abs() < 1e-3);
        assert_eq!(m.feedback()[0].lost_chunks, 1);
        assert!(m.push_chunk(chunk("a", 1, 2000, 1600, false), now).is_err(), "too late to play");
        // Dry and nothing more here: padded silence, the clock goes on; unpadded, nothing.
        let (out, n) = render(&mut m, 320, true, now, &mut fin);
        assert_eq!(n, 320);
        assert!(out.iter().all(|&s| s == 0.0));
        assert_eq!(render(&mut m, 320, false, now, &mut fin).1, 0);
        // Nothing for longer than the stall timeout: dropped, reported.
        render(&mut m, 320, true, now + Duration::from_secs(3), &mut fin);
        assert!(!m.is_active());
        assert_eq!(fin.last().map(|f| f.finished), Some(true));
    }

    #[test]
    fn ducking_ramps_down_and_back_without_jumps() {
        let now = Instant::now();
        let mut m = MusicMixer::new(RATE, 100, settings());
        let mut fin = Vec::new();
        for seq in 0..10 {
            m.push_chunk(chunk("a", seq, 16_384, 1600, false), now).unwrap();
        }
        let (before, _) = render(&mut m, 1600, false, now, &mut fin);
        m.set_ducked(true);
        let (ramp, _) = render(&mut m, 1600, false, now, &mut fin);
        let (ducked, _) = render(&mut m, 1600, false, now, &mut fin);
        assert!((before[1599] - 0.5).abs() < 1e-3);
        let max_step = ramp.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0f32, f32::max);
        assert!(max_step < 0.01, "a click: step {max_step}");
        let drop_db = 20.0 * (ducked[1599] / before[1599]).log10();
        assert!((drop_db + 20.0).abs() < 0.1, "{drop_db} dB");
        m.set_ducked(false);
        let (up, _) = render(&mut m, 3200, false, now, &mut fin);
        assert!(up[0] < 0.1 && (up[1599] - 0.158).abs() < 0.01, "half way in dB after 100 ms: {}", up[1599]);
        assert!((up[3199] - 0.5).abs() < 1e-3, "back after 200 ms: {}", up[3199]);
    }

    #[test]
    fn music_goes_under_speech_and_a_flush_fades_out() {
        let now = Instant::now();
        let mut m = MusicMixer::new(RATE, 100, settings());
        let mut fin = Vec::new();
        for seq in 0..5 {
            m.push_chunk(chunk("a", seq, 8192, 1600, false), now).unwrap();
        }
        let mut out = vec![0.25f32; 160];
        m.render(&mut out, false, now, &mut fin);
        assert!((out[0] - 0.5).abs() < 1e-3, "speech plus music");
        let dropped = m.flush();
        assert_eq!(dropped.len(), 1);
        assert!(dropped[0].finished);
        let (tail, n) = render(&mut m, 1000, false, now, &mut fin);
        assert_eq!(n, 240, "15 ms of fade");
        assert!(tail[0] > 0.2 && tail[239] < 0.01);
        assert!(m.push_chunk(chunk("a", 5, 8192, 1600, false), now).is_err(), "a flushed stream stays gone");
        assert!(!m.is_active());
    }
}
