//! The microphone thread: reads one source (sound card, WAV file, stdin) and hands 20 ms, 16 kHz
//! frames to the service. Frames that the service cannot take in time are dropped and counted
//! for a live device; file and stdin sources wait instead (nothing is lost in a test).

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hearth_bus::audio::{MIC_FRAME_SAMPLES, MIC_SAMPLE_RATE_HZ};
use hearth_bus::ids::now_ms;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::config::{AfterInput, AudioConfig, InputKind, Pacing};
use crate::device::{self, missing_device_message, Direction};
use crate::resample::{MicFrame, MicPipeline};
use crate::wav::WavSource;
use crate::AudioError;

/// How often the capture thread drains the device ring.
const POLL: Duration = Duration::from_millis(10);
/// How long to wait before trying an absent or failed capture device again.
const RETRY: Duration = Duration::from_secs(5);
const FRAME: Duration = Duration::from_millis(20);
/// Capture overruns are reported at most this often.
const OVERRUN_REPORT: Duration = Duration::from_secs(5);

/// What the microphone thread tells the service.
#[derive(Debug)]
pub enum MicEvent {
    Frame(MicFrame),
    /// The source works; the text describes it.
    Ready(String),
    /// The source cannot work; the text says what is missing and what to set.
    Unavailable(String),
}

/// A running microphone thread.
pub struct Mic {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Stdin reads block and cannot be interrupted: that thread is left to end with the process.
    detach: bool,
}

impl Mic {
    /// Starts the source named by `config.input`. `none` starts nothing.
    pub fn start(config: &AudioConfig, events: mpsc::Sender<MicEvent>) -> Result<Option<Mic>, AudioError> {
        let kind = config.input_kind().map_err(|why| AudioError::Config { key: "audio.input", why })?;
        let stop = Arc::new(AtomicBool::new(false));
        let run = Runner { stop: stop.clone(), events, config: config.clone() };
        let (detach, thread) = match kind {
            InputKind::None => return Ok(None),
            InputKind::Device => (false, spawn("hearth-mic", move || run.device())?),
            InputKind::File(path) => (false, spawn("hearth-mic-file", move || run.file(&path))?),
            InputKind::Stdin => (true, spawn("hearth-mic-stdin", move || run.stdin())?),
        };
        Ok(Some(Mic { stop, thread: Some(thread), detach }))
    }

    /// Stops the thread and waits for it (except a stdin reader, which may be blocked in `read`).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            if !self.detach {
                let _ = t.join();
            }
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, AudioError> {
    std::thread::Builder::new().name(name.into()).spawn(f).map_err(|source| AudioError::Io { path: name.into(), source })
}

struct Runner {
    stop: Arc<AtomicBool>,
    events: mpsc::Sender<MicEvent>,
    config: AudioConfig,
}

impl Runner {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire) || self.events.is_closed()
    }

    /// Sends a frame, waiting for room; false when the service is gone.
    fn send_waiting(&self, frame: MicFrame) -> bool {
        self.events.blocking_send(MicEvent::Frame(frame)).is_ok()
    }

    fn tell(&self, event: MicEvent) {
        let _ = self.events.blocking_send(event);
    }

    /// Sleeps until `deadline` in short steps so that a stop is noticed; false when stopped.
    fn sleep_until(&self, deadline: Instant) -> bool {
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
        }
    }

    /// A sound card, reopened every few seconds while it is missing or after it failed.
    fn device(self) {
        let mut last_problem: Option<String> = None;
        let mut alsa = device::AlsaErrors::capture();
        while !self.stopped() {
            let capture = match device::open_capture(&self.config.input_device) {
                Ok(c) => c,
                Err(e) => {
                    let message = missing_device_message(Direction::Input, &e.to_string());
                    debug!(alsa = %alsa.take(), "alsa-lib said");
                    if last_problem.as_deref() != Some(message.as_str()) {
                        warn!(%message, "microphone unavailable");
                        self.tell(MicEvent::Unavailable(message.clone()));
                        last_problem = Some(message);
                    }
                    self.sleep_until(Instant::now() + RETRY);
                    continue;
                }
            };
            info!(device = %capture.description, "microphone open");
            self.tell(MicEvent::Ready(format!("device: {}", capture.description)));
            match self.capture_loop(capture) {
                Ok(()) => break,
                Err(why) => {
                    let message = missing_device_message(Direction::Input, &format!("the capture device failed: {why}"));
                    warn!(%message, "microphone lost");
                    self.tell(MicEvent::Unavailable(message.clone()));
                    last_problem = Some(message);
                    self.sleep_until(Instant::now() + RETRY);
                }
            }
        }
    }

    /// Drains the capture ring until stopped (Ok) or the device fails (Err with the reason).
    fn capture_loop(&self, mut capture: device::Capture) -> Result<(), String> {
        let mut pipeline = MicPipeline::new(capture.rate_hz, capture.channels).map_err(|e| e.to_string())?;
        let mut block = Vec::new();
        let mut frames = Vec::new();
        let mut dropped = 0u64;
        let mut reported_overruns = 0u64;
        let per_ms = capture.rate_hz as f64 * capture.channels as f64 / 1000.0;
        let started = Instant::now();
        let mut accepted = 0u64;
        let mut too_fast = 0u64;
        let mut last_overrun_report = Instant::now();
        while !self.stopped() {
            std::thread::sleep(POLL);
            if let Some(why) = capture.failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(why);
            }
            let n = capture.samples.slots();
            // Whole frames only, so channels stay aligned.
            let n = n - n % capture.channels as usize;
            if n == 0 {
                continue;
            }
            block.clear();
            if let Ok(chunk) = capture.samples.read_chunk(n) {
                let (a, b) = chunk.as_slices();
                block.extend_from_slice(a);
                block.extend_from_slice(b);
                chunk.commit_all();
            }
            // A device without a clock (ALSA `null`) delivers audio as fast as it is read: keep
            // only what real time allows, so the bus is not flooded. The 5 % and half a second of
            // slack are far beyond any real sound card's clock drift.
            let allowed = (started.elapsed().as_secs_f64() * 1050.0 + 500.0) * per_ms;
            let keep = ((allowed - accepted as f64).max(0.0) as usize).min(block.len());
            let keep = keep - keep % capture.channels as usize;
            if keep < block.len() {
                if too_fast == 0 {
                    warn!(device = %capture.description, "the capture device delivers audio faster than real time; dropping the excess");
                }
                too_fast += (block.len() - keep) as u64;
                block.truncate(keep);
                if block.is_empty() {
                    continue;
                }
            }
            accepted += block.len() as u64;
            // The newest sample is "now"; the block's first sample is its length earlier.
            let capture_ms = now_ms() as f64 - block.len() as f64 / per_ms;
            frames.clear();
            pipeline.push(&block, capture_ms, &mut frames).map_err(|e| e.to_string())?;
            for f in frames.drain(..) {
                if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(MicEvent::Frame(f)) {
                    dropped += 1;
                    if dropped.is_power_of_two() {
                        warn!(dropped, "service is behind, dropping microphone frames");
                    }
                }
            }
            // Overruns lose audio; say so at most every few seconds. A clockless device overruns
            // all the time by nature and was reported above.
            let overruns = capture.overruns.load(Ordering::Relaxed);
            if overruns > reported_overruns && last_overrun_report.elapsed() >= OVERRUN_REPORT {
                if too_fast == 0 {
                    warn!(samples = overruns - reported_overruns, "capture overrun: the microphone thread fell behind, audio was lost");
                }
                reported_overruns = overruns;
                last_overrun_report = Instant::now();
            }
        }
        Ok(())
    }

    fn file(self, path: &std::path::Path) {
        let mut source = match WavSource::open(path) {
            Ok(s) => s,
            Err(e) => {
                let message = format!("input file {} cannot be read: {e}. Fix `[audio] input = \"file:…\"`", path.display());
                warn!(%message, "microphone unavailable");
                self.tell(MicEvent::Unavailable(message));
                return;
            }
        };
        let (rate, channels) = (source.rate_hz(), source.channels());
        let mut pipeline = match MicPipeline::new(rate, channels) {
            Ok(p) => p,
            Err(e) => return self.tell(MicEvent::Unavailable(format!("input file {}: {e}", path.display()))),
        };
        info!(path = %path.display(), rate, channels, ms = source.duration_ms(), pacing = ?self.config.input_pacing, "reading microphone audio from a file");
        self.tell(MicEvent::Ready(format!("file: {} ({rate} Hz, {channels} ch)", path.display())));
        let realtime = self.config.input_pacing == Pacing::Realtime;
        let block_frames = (rate / 50).max(1) as usize;
        let start = Instant::now();
        let start_ms = now_ms() as f64;
        let mut read_frames = 0u64;
        let mut block = Vec::new();
        let mut frames = Vec::new();
        let mut last_ts = start_ms as i64 - 20;
        loop {
            if self.stopped() {
                return;
            }
            block.clear();
            let n = match source.read(block_frames, &mut block) {
                Ok(n) => n,
                Err(e) => {
                    warn!(error = %e, "input file read failed; treating it as its end");
                    0
                }
            };
            frames.clear();
            let ended = n == 0;
            let pushed = if ended {
                pipeline.finish(&mut frames)
            } else {
                let capture_ms = start_ms + read_frames as f64 * 1000.0 / rate as f64;
                read_frames += n as u64;
                pipeline.push(&block, capture_ms, &mut frames)
            };
            if let Err(e) = pushed {
                warn!(error = %e, "input file could not be resampled");
                return;
            }
            for f in frames.drain(..) {
                last_ts = f.timestamp_ms;
                if !self.send_waiting(f) {
                    return;
                }
            }
            if ended {
                break;
            }
            if realtime && !self.sleep_until(start + Duration::from_secs_f64(read_frames as f64 / rate as f64)) {
                return;
            }
        }
        info!(path = %path.display(), "input file finished");
        self.after_end(last_ts, realtime);
    }

    fn stdin(self) {
        self.tell(MicEvent::Ready("stdin: raw s16le 16 kHz mono".into()));
        let mut pipeline = match MicPipeline::new(MIC_SAMPLE_RATE_HZ, 1) {
            Ok(p) => p,
            Err(e) => return self.tell(MicEvent::Unavailable(e.to_string())),
        };
        let mut stdin = std::io::stdin().lock();
        let mut bytes = vec![0u8; MIC_FRAME_SAMPLES * 2];
        let mut carry: Option<u8> = None;
        let mut frames = Vec::new();
        let mut last_ts = now_ms() - 20;
        loop {
            if self.stopped() {
                return;
            }
            let n = match stdin.read(&mut bytes) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!(error = %e, "stdin read failed; treating it as its end");
                    break;
                }
            };
            let mut data: Vec<u8> = carry.take().into_iter().collect();
            data.extend_from_slice(&bytes[..n]);
            if data.len() % 2 == 1 {
                carry = data.pop();
            }
            let block: Vec<f32> = data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0).collect();
            let capture_ms = now_ms() as f64 - block.len() as f64 / 16.0;
            frames.clear();
            if pipeline.push(&block, capture_ms, &mut frames).is_err() {
                return;
            }
            for f in frames.drain(..) {
                last_ts = f.timestamp_ms;
                if !self.send_waiting(f) {
                    return;
                }
            }
        }
        frames.clear();
        let _ = pipeline.finish(&mut frames);
        for f in frames.drain(..) {
            last_ts = f.timestamp_ms;
            if !self.send_waiting(f) {
                return;
            }
        }
        info!("stdin closed");
        self.after_end(last_ts, true);
    }

    /// After a file or stdin ends: the tail of silence at the source's pacing, then silence in real
    /// time until shutdown (or nothing, with `after_input_file = "stop"`).
    fn after_end(&self, mut last_ts: i64, realtime: bool) {
        if self.config.after_input_file == AfterInput::Stop {
            return;
        }
        let silence = vec![0i16; MIC_FRAME_SAMPLES];
        let tail_frames = self.config.tail_silence_ms.div_ceil(20);
        let mut next: Option<Instant> = None;
        let mut sent = 0u32;
        loop {
            if sent >= tail_frames || realtime {
                let deadline = *next.get_or_insert_with(Instant::now) + FRAME;
                next = Some(deadline);
                if !self.sleep_until(deadline) {
                    return;
                }
            } else if self.stopped() {
                return;
            }
            last_ts += 20;
            if !self.send_waiting(MicFrame { timestamp_ms: last_ts, samples: silence.clone() }) {
                return;
            }
            sent = sent.saturating_add(1);
        }
    }
}
