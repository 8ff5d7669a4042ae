//! A microphone made of a pipe: raw 16 kHz s16le written in real time to `hearth up --mic -`. Silence
//! (or the background noise) flows all the time; speech is mixed in when asked for, and the caller learns
//! the moment its last sample went out, which is where "end of speech" is measured from.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

const RATE_HZ: usize = 16_000;
const FRAME: usize = RATE_HZ / 50;

struct Segment {
    samples: VecDeque<i16>,
    done: oneshot::Sender<Instant>,
}

/// The handle the test speaks through. Dropping it closes the pipe (the audio service then sends
/// silence of its own).
pub struct Mic {
    segments: std_mpsc::Sender<Segment>,
}

impl Mic {
    /// Starts the writer thread on `pipe`, with `noise` (16 kHz samples, repeated) under everything.
    pub fn start(mut pipe: impl Write + Send + 'static, noise: Option<Vec<i16>>) -> Mic {
        let (segments, rx) = std_mpsc::channel::<Segment>();
        std::thread::Builder::new()
            .name("e2e-mic".into())
            .spawn(move || {
                let mut current: Option<Segment> = None;
                let mut noise_at = 0usize;
                let mut next = Instant::now();
                let mut bytes = Vec::with_capacity(FRAME * 2);
                loop {
                    if current.is_none() {
                        current = rx.try_recv().ok();
                    }
                    bytes.clear();
                    for _ in 0..FRAME {
                        let speech = current.as_mut().and_then(|s| s.samples.pop_front()).unwrap_or(0) as i32;
                        let hum = noise.as_ref().filter(|n| !n.is_empty()).map_or(0, |n| n[noise_at % n.len()] as i32);
                        noise_at += 1;
                        let s = (speech + hum).clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                        bytes.extend_from_slice(&s.to_le_bytes());
                    }
                    if pipe.write_all(&bytes).and_then(|_| pipe.flush()).is_err() {
                        return; // `hearth up` is gone
                    }
                    if current.as_ref().is_some_and(|s| s.samples.is_empty()) {
                        let _ = current.take().unwrap().done.send(Instant::now());
                    }
                    // Absolute deadlines: the stream keeps real time however long a write took.
                    next += Duration::from_millis(20);
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
            })
            .expect("start the microphone thread");
        Mic { segments }
    }

    /// Plays `samples` (16 kHz mono) into the microphone after anything queued before, and returns when
    /// the last one has been written, with that moment.
    pub async fn say(&self, samples: Vec<i16>) -> anyhow::Result<Instant> {
        let (done, finished) = oneshot::channel();
        self.segments
            .send(Segment { samples: samples.into(), done })
            .map_err(|_| anyhow::anyhow!("the microphone pipe is closed (hearth up exited?)"))?;
        finished.await.map_err(|_| anyhow::anyhow!("the microphone pipe closed while speaking"))
    }
}
