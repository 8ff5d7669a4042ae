//! A day of listening, compressed to whatever `--hours` allows: `hearth up` hears a real-time stream of
//! silence, brown noise, music and chatter, with wake words and requests at random moments, while a
//! random service is killed every few minutes. Measured throughout: each process's resident memory (and
//! its slope per hour), CPU and open descriptors, lost microphone frames, wake words heard against
//! spoken, turn latency early against late. Checked: every turn after a restart is answered, and a
//! timer and the volume set at the start are still there after every restart.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hearth_bus::audio::{AudioFrame, SetVolume, Volume};
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, Message};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::procs::{sample_tree, slope, ticks_per_second, ProcSample};
use crate::speech::{brown_noise, silence, speak};
use crate::turn::ms;
use crate::{Rig, RigOptions};

pub struct SoakOptions {
    pub rig: RigOptions,
    pub duration: Duration,
    /// Kill a random service this often (`None`: never).
    pub kill_every: Option<Duration>,
    pub sample_every: Duration,
    pub seed: u64,
}

/// The request of every turn (the rig's whisper hears it; a real whisper has to understand it).
pub const REQUEST: &str = "what time is it";
const TIMER_NAME: &str = "soak";
const VOLUME: u8 = 37;
/// Chatter without the wake word: what a room says to itself.
const CHATTER: [&str; 6] = [
    "did you remember to buy milk on the way home",
    "the football starts at eight tonight",
    "could you pass me the salt please",
    "I think it is going to rain later this week",
    "jarvis was a character in the films",
    "hey, have you seen my keys anywhere",
];

/// One service's figures over the run.
#[derive(Debug, Clone, Default)]
pub struct ProcFigures {
    pub rss_start_kb: u64,
    pub rss_end_kb: u64,
    pub rss_peak_kb: u64,
    /// Of the longest-lived process of the service, MB per hour.
    pub rss_slope_mb_per_h: f64,
    /// CPU time over wall time, percent of one core.
    pub cpu_percent: f64,
    pub fds_start: usize,
    pub fds_end: usize,
    /// Distinct processes seen (1 + restarts).
    pub processes: usize,
}

#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    pub elapsed: Duration,
    pub turns: usize,
    pub answered: usize,
    /// First-audio latency (ms after the end of speech) of each answered turn, in order.
    pub latencies_ms: Vec<f64>,
    pub failures: Vec<String>,
    pub restarts: Vec<String>,
    pub turns_after_restart: usize,
    pub answered_after_restart: usize,
    pub settings_lost: Vec<String>,
    pub frames: u64,
    pub frames_lost: u64,
    pub wake_detected: u64,
    pub procs: BTreeMap<String, ProcFigures>,
}

impl SoakReport {
    /// What must hold whatever the machine's speed: every turn right after a restart answered and
    /// nothing the user set lost.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.settings_lost.clone();
        if self.answered_after_restart < self.turns_after_restart {
            out.push(format!("{} of {} turns after a restart went unanswered", self.turns_after_restart - self.answered_after_restart, self.turns_after_restart));
        }
        out
    }
}

/// Runs the soak; the assistant is stopped when it returns.
pub async fn soak(options: SoakOptions) -> anyhow::Result<SoakReport> {
    let dir = options.rig.work_dir.clone();
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut rig = Rig::start(options.rig).await?;
    rig.cut_playback = true;
    // A soak of a half-working assistant measures nothing: every service must be online.
    for name in rig.services.clone() {
        let status = rig.wait_status(&name, |_| true).await?;
        anyhow::ensure!(
            status.state == hearth_bus::service::ServiceState::Online,
            "{name} is {:?}: {}",
            status.state,
            status.detail.unwrap_or_default()
        );
    }
    let started = Instant::now();
    let samples: Arc<Mutex<Vec<(f64, Vec<ProcSample>)>>> = Arc::default();
    let sampler = tokio::spawn(sample_every(rig.pid() as i32, options.sample_every, started, samples.clone()));
    let watch = FrameWatch::start(&rig).await?;

    set_remembered_things(&rig).await?;
    let mut report = SoakReport::default();
    settle_remembered_things(&mut rig, &mut report, "start").await;

    let noise = brown_noise(10.0, -12.0, &dir);
    let request = {
        let mut a = speak("hey jarvis", "en-us", &dir);
        a.extend(silence(0.4));
        a.extend(speak(REQUEST, "en-us", &dir));
        a
    };
    let chatter: Vec<Vec<i16>> = CHATTER.iter().map(|t| speak(t, "en-us", &dir)).collect();
    let mut next_kill = options.kill_every.map(|k| started + k);
    let mut after_restart = false;
    while started.elapsed() < options.duration {
        let filler = match rng.gen_range(0..4) {
            0 => silence(rng.gen_range(2.0..8.0)),
            1 => noise[..rng.gen_range(2..10) * 16_000].to_vec(),
            2 => music(rng.gen_range(3.0..8.0), rng.gen()),
            _ => chatter[rng.gen_range(0..chatter.len())].clone(),
        };
        rig.mic.say(filler).await?;
        report.turns += 1;
        report.turns_after_restart += usize::from(after_restart);
        match rig.wake_turn(request.clone()).await {
            Ok(turn) => {
                report.answered += 1;
                report.answered_after_restart += usize::from(after_restart);
                report.latencies_ms.push(ms(turn.times.first_audio));
            }
            Err(e) => report.failures.push(format!("turn {} at {:.0} s: {e:#}", report.turns, started.elapsed().as_secs_f64())),
        }
        after_restart = false;
        if next_kill.is_some_and(|at| Instant::now() >= at) {
            let victim = rig.services[rng.gen_range(0..rig.services.len())].clone();
            rig.kill_and_wait_for_restart(&victim).await.with_context(|| format!("{victim} did not come back after a kill"))?;
            report.restarts.push(victim.clone());
            settle_remembered_things(&mut rig, &mut report, &format!("restart of {victim}")).await;
            after_restart = true;
            next_kill = options.kill_every.map(|k| Instant::now() + k);
        }
    }
    report.elapsed = started.elapsed();
    sampler.abort();
    report.frames = watch.frames.load(Ordering::Relaxed);
    report.frames_lost = watch.lost.load(Ordering::Relaxed);
    report.wake_detected = watch.wakes.load(Ordering::Relaxed);
    report.procs = figures(&samples.lock().unwrap());
    Ok(report)
}

/// A long timer and a volume the user set: both must survive every restart.
async fn set_remembered_things(rig: &Rig) -> anyhow::Result<()> {
    let timer = ToolCall {
        call_id: "soak-timer".into(),
        session_id: None,
        tool: "set_timer".into(),
        arguments: serde_json::json!({"duration_seconds": 86_400, "name": TIMER_NAME}),
    };
    rig.recorder.client.publish_on(timer.topic("default"), &timer).await?;
    rig.recorder.client.publish("default", &SetVolume { volume: VOLUME }).await?;
    Ok(())
}

/// Asks the timers service for its timers and reads the retained volume as a client that connects now
/// would; notes what is missing. Within 20 s: a service that just came back may still be loading.
async fn settle_remembered_things(rig: &mut Rig, report: &mut SoakReport, when: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut timer, mut volume) = (false, false);
    let mut asked = 0;
    while Instant::now() < deadline && !(timer && volume) {
        asked += 1;
        timer = timer || has_timer(rig, asked).await;
        volume = volume || retained_volume(rig).await == Some(VOLUME);
    }
    if !timer {
        report.settings_lost.push(format!("the {TIMER_NAME:?} timer was gone after the {when}"));
    }
    if !volume {
        report.settings_lost.push(format!("volume {VOLUME} was not kept after the {when}"));
    }
}

async fn has_timer(rig: &mut Rig, n: usize) -> bool {
    let call_id = format!("soak-status-{n}");
    let ask = ToolCall { call_id: call_id.clone(), session_id: None, tool: "timer_status".into(), arguments: serde_json::json!({}) };
    if rig.recorder.client.publish_on(ask.topic("default"), &ask).await.is_err() {
        return false;
    }
    let answer = tokio::time::timeout(Duration::from_secs(3), rig.recorder.next::<ToolResult>(|r| r.call_id == call_id)).await;
    let Ok(Ok((_, result))) = answer else { return false };
    let timers = result.data.as_ref().and_then(|d| d.get("timers")).and_then(|t| t.as_array()).cloned().unwrap_or_default();
    timers.iter().any(|t| t.get("name").and_then(|n| n.as_str()) == Some(TIMER_NAME))
}

/// The volume the broker holds retained, as a client connecting now sees it.
async fn retained_volume(rig: &Rig) -> Option<u8> {
    let (bus, _connection) = Bus::connect_tool(&rig.bus, "soak-volume", "default").ok()?;
    bus.client.wait_connected(Duration::from_secs(5)).await.ok()?;
    bus.client.subscribe(&format!("hearth/default/{}", Volume::SUFFIX)).await.ok()?;
    let mut inbox = bus.inbox;
    let envelope = tokio::time::timeout(Duration::from_secs(2), inbox.recv()).await.ok()??;
    envelope.decode::<Volume>().map(|v| v.volume)
}

async fn sample_every(root: i32, every: Duration, started: Instant, into: Arc<Mutex<Vec<(f64, Vec<ProcSample>)>>>) {
    loop {
        let s = sample_tree(root);
        into.lock().unwrap().push((started.elapsed().as_secs_f64(), s));
        tokio::time::sleep(every).await;
    }
}

/// Per service: memory at start, end and peak, the slope of its longest-lived process, CPU share.
fn figures(samples: &[(f64, Vec<ProcSample>)]) -> BTreeMap<String, ProcFigures> {
    let mut by_pid: BTreeMap<(String, i32), Vec<(f64, &ProcSample)>> = BTreeMap::new();
    for (t, procs) in samples {
        for p in procs {
            by_pid.entry((p.service.clone(), p.pid)).or_default().push((*t, p));
        }
    }
    let mut out: BTreeMap<String, ProcFigures> = BTreeMap::new();
    let mut cpu_s: BTreeMap<String, f64> = BTreeMap::new();
    let mut longest: BTreeMap<String, f64> = BTreeMap::new();
    for ((service, _), life) in &by_pid {
        let (first, last) = (life[0], life[life.len() - 1]);
        let f = out.entry(service.clone()).or_default();
        if f.processes == 0 {
            (f.rss_start_kb, f.fds_start) = (first.1.rss_kb, first.1.fds);
        }
        f.processes += 1;
        (f.rss_end_kb, f.fds_end) = (last.1.rss_kb, last.1.fds);
        f.rss_peak_kb = f.rss_peak_kb.max(life.iter().map(|(_, p)| p.rss_kb).max().unwrap_or(0));
        *cpu_s.entry(service.clone()).or_default() += (last.1.cpu_ticks - first.1.cpu_ticks) as f64 / ticks_per_second();
        let span = last.0 - first.0;
        if span >= longest.get(service).copied().unwrap_or(0.0) {
            longest.insert(service.clone(), span);
            let points: Vec<(f64, f64)> = life.iter().map(|(t, p)| (t / 3600.0, p.rss_kb as f64 / 1024.0)).collect();
            f.rss_slope_mb_per_h = slope(&points);
        }
    }
    let wall = samples.last().map_or(0.0, |s| s.0) - samples.first().map_or(0.0, |s| s.0);
    for (service, f) in out.iter_mut() {
        f.cpu_percent = if wall > 0.0 { 100.0 * cpu_s[service] / wall } else { 0.0 };
    }
    out
}

/// Counts microphone frames and the gaps in their sequence numbers (a restarted audio service starts
/// again from 0, which is not a loss), and every wake word detection.
struct FrameWatch {
    frames: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
    wakes: Arc<AtomicU64>,
    _connection: hearth_bus::Connection,
}

impl FrameWatch {
    async fn start(rig: &Rig) -> anyhow::Result<FrameWatch> {
        let (bus, connection) = Bus::connect_tool(&rig.bus, "soak-frames", "default")?;
        bus.client.wait_connected(Duration::from_secs(10)).await?;
        bus.client.subscribe("hearth/default/audio/frame").await?;
        bus.client.subscribe(&format!("hearth/default/{}", WakeDetected::SUFFIX)).await?;
        let (frames, lost, wakes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (f, l, w) = (frames.clone(), lost.clone(), wakes.clone());
        let mut inbox = bus.inbox;
        tokio::spawn(async move {
            let mut last: Option<u64> = None;
            while let Some(e) = inbox.recv().await {
                if e.is::<WakeDetected>() {
                    w.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let Some(frame) = e.decode::<AudioFrame>() else { continue };
                f.fetch_add(1, Ordering::Relaxed);
                if let Some(prev) = last.filter(|p| frame.seq > p + 1) {
                    l.fetch_add(frame.seq - prev - 1, Ordering::Relaxed);
                }
                last = Some(frame.seq);
            }
        });
        Ok(FrameWatch { frames, lost, wakes, _connection: connection })
    }
}

/// A few seconds of "music": a chord progression of soft sine tones with a slow beat.
pub fn music(seconds: f64, seed: u64) -> Vec<i16> {
    const CHORDS: [[f64; 3]; 4] = [[261.6, 329.6, 392.0], [220.0, 261.6, 329.6], [174.6, 220.0, 261.6], [196.0, 246.9, 293.7]];
    let n = (seconds * 16_000.0) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            let chord = CHORDS[((t / 1.5) as usize + seed as usize) % CHORDS.len()];
            let beat = 0.6 + 0.4 * (std::f64::consts::TAU * 2.0 * t).cos().abs();
            let v: f64 = chord.iter().map(|f| (std::f64::consts::TAU * f * t).sin()).sum::<f64>() / 3.0;
            (v * beat * 3000.0) as i16
        })
        .collect()
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hours = self.elapsed.as_secs_f64() / 3600.0;
        writeln!(f, "hearth bench soak: {:.2} h ({:.0} s), {} turns, {} answered, {} restarts", hours, self.elapsed.as_secs_f64(), self.turns, self.answered, self.restarts.len())?;
        if hours < 0.5 {
            writeln!(f, "\n(under half an hour: the slopes still hold start-up growth, caches filling; run --hours 4 for drift)")?;
        }
        writeln!(f, "\n| process | runs | RSS start MB | RSS end MB | peak MB | slope MB/h (longest run) | CPU % of a core | fds start → end |")?;
        writeln!(f, "|---|---|---|---|---|---|---|---|")?;
        for (name, p) in &self.procs {
            writeln!(
                f,
                "| {name} | {} | {:.1} | {:.1} | {:.1} | {:+.2} | {:.1} | {} → {} |",
                p.processes,
                p.rss_start_kb as f64 / 1024.0,
                p.rss_end_kb as f64 / 1024.0,
                p.rss_peak_kb as f64 / 1024.0,
                p.rss_slope_mb_per_h,
                p.cpu_percent,
                p.fds_start,
                p.fds_end
            )?;
        }
        let quarter = (self.latencies_ms.len() / 4).max(1);
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        if !self.latencies_ms.is_empty() {
            let n = self.latencies_ms.len();
            writeln!(
                f,
                "\nfirst audio after the end of speech: median {:.0} ms over the first {} turns, {:.0} ms over the last {}",
                median(&self.latencies_ms[..quarter.min(n)]),
                quarter.min(n),
                median(&self.latencies_ms[n - quarter.min(n)..]),
                quarter.min(n)
            )?;
        }
        writeln!(f, "microphone frames on the bus: {} received, {} lost (gaps in seq)", self.frames, self.frames_lost)?;
        writeln!(f, "wake words: {} spoken, {} detections ({} outside a turn's request or repeated)", self.turns, self.wake_detected, self.wake_detected.saturating_sub(self.answered as u64))?;
        writeln!(f, "restarts: {:?}; turns right after one: {} of {} answered", self.restarts, self.answered_after_restart, self.turns_after_restart)?;
        writeln!(f, "timer and volume kept across every restart: {}", if self.settings_lost.is_empty() { "yes".to_owned() } else { self.settings_lost.join("; ") })?;
        for failure in &self.failures {
            writeln!(f, "failed: {failure}")?;
        }
        Ok(())
    }
}
