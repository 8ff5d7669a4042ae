//! The bus shell around [`Engine`]: `tts/say` and `audio/stop` in, `audio/play` and `tts/spoken` out.
//!
//! One named engine thread synthesizes sentences in arrival order. Each site has a generation number;
//! a job carries the generation current when it was queued and is dropped (or cut short between
//! chunks) once the site's generation moved on. A stop moves it, and so does a `Say` of a different
//! session than the one the site is speaking for. Announcements (no session) queue behind a reply.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_bus::audio::{samples_to_pcm, PlayChunk, StopPlayback};
use hearth_bus::service::ServiceState;
use hearth_bus::tts::{Say, Spoken};
use hearth_bus::{Bus, BusClient, Shutdown};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tracing::{debug, error, info, warn};

use crate::config::TtsConfig;
use crate::engine::Engine;
use crate::TtsError;

/// Per-site generation counters shared by the async loop and the engine thread.
#[derive(Default, Clone)]
struct Generations(Arc<Mutex<HashMap<String, u64>>>);

impl Generations {
    fn current(&self, site: &str) -> u64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()).get(site).unwrap_or(&0)
    }

    fn bump(&self, site: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(site.to_string()).or_insert(0) += 1;
    }
}

struct Job {
    site: String,
    say: Say,
    generation: u64,
    queued: Instant,
}

/// Speaks until shutdown.
pub async fn run(config: TtsConfig, bus: Bus, shutdown: Shutdown) -> Result<(), TtsError> {
    let Bus { client, mut inbox } = bus;
    client.subscribe_all_sites::<Say>().await?;
    client.subscribe_all_sites::<StopPlayback>().await?;

    let generations = Generations::default();
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = oneshot::channel();
    let engine_thread = {
        let (client, generations, handle) = (client.clone(), generations.clone(), Handle::current());
        let config = config.clone();
        std::thread::Builder::new()
            .name("tts-engine".into())
            .spawn(move || engine_loop(&config, job_rx, ready_tx, &client, &handle, &generations))
            .map_err(|e| TtsError::Runtime(format!("cannot start the tts engine thread: {e}")))?
    };
    let voice = match ready_rx.await {
        Ok(Ok((voice, fallback))) => {
            client.set_capabilities(vec![format!("voice:{voice}")]).await?;
            let detail = fallback.map(|why| format!("{why}; speaking with {voice}"));
            client.set_status(ServiceState::Online, detail).await?;
            info!(%voice, "tts ready");
            Some(voice)
        }
        Ok(Err(why)) => {
            error!(reason = %why, "tts cannot speak");
            client.set_status(ServiceState::Unavailable, Some(why)).await?;
            None
        }
        Err(_) => {
            client.set_status(ServiceState::Unavailable, Some("the tts engine thread died".into())).await?;
            None
        }
    };

    let mut speaking_for: HashMap<String, String> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let Some(site) = envelope.site().map(str::to_owned) else { continue };
                if let Some(say) = envelope.decode::<Say>() {
                    if let Some(session) = &say.session_id {
                        if speaking_for.get(&site).is_some_and(|s| s != session) {
                            debug!(%site, %session, "new session: dropping what is queued");
                            generations.bump(&site);
                        }
                        speaking_for.insert(site.clone(), session.clone());
                    }
                    if voice.is_none() {
                        refuse(&client, &site, &say).await;
                        continue;
                    }
                    let job = Job { generation: generations.current(&site), site, say, queued: Instant::now() };
                    if jobs.send(job).is_err() {
                        warn!("tts engine thread is gone");
                    }
                } else if let Some(stop) = envelope.decode::<StopPlayback>() {
                    debug!(%site, reason = %stop.reason, "stop: dropping what is queued");
                    generations.bump(&site);
                    speaking_for.remove(&site);
                }
            }
        }
    }
    drop(jobs);
    // The engine finishes at most the sentence it is on; don't wait forever for it.
    let joined = tokio::task::spawn_blocking(move || engine_thread.join());
    if tokio::time::timeout(Duration::from_secs(10), joined).await.is_err() {
        warn!("tts engine thread did not stop within 10 s");
    }
    Ok(())
}

/// Answers a `Say` when nothing can speak: the failure event, and the closing chunk the speaker waits for.
async fn refuse(client: &BusClient, site: &str, say: &Say) {
    let spoken = Spoken {
        utterance_id: say.utterance_id.clone(),
        session_id: say.session_id.clone(),
        seq: say.seq,
        audio_ms: 0,
        synth_ms: 0,
        voice: String::new(),
        error: Some("no voice available (espeak-ng failed to start)".into()),
    };
    let _ = client.publish(site, &spoken).await;
    if say.last {
        let chunk = PlayChunk {
            utterance_id: say.utterance_id.clone(),
            session_id: say.session_id.clone(),
            seq: 0,
            sample_rate_hz: crate::espeak::ESPEAK_SAMPLE_RATE_HZ,
            channels: 1,
            pcm: Vec::new(),
            last: true,
        };
        let _ = client.publish(site, &chunk).await;
    }
}

fn engine_loop(
    config: &TtsConfig,
    jobs: mpsc::Receiver<Job>,
    ready: oneshot::Sender<Result<(String, Option<String>), String>>,
    client: &BusClient,
    handle: &Handle,
    generations: &Generations,
) {
    let mut engine = match Engine::load(config) {
        Ok(e) => {
            let _ = ready.send(Ok((e.voice_name(), e.fallback_reason.clone())));
            e
        }
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let chunk_samples = (engine.sample_rate_hz() as u64 * config.chunk_ms as u64 / 1000).max(1) as usize;
    let mut next_seq: HashMap<String, u32> = HashMap::new();
    while let Ok(job) = jobs.recv() {
        let live = || generations.current(&job.site) == job.generation;
        if !live() {
            debug!(utterance = %job.say.utterance_id, seq = job.say.seq, "dropped: cancelled while queued");
            next_seq.remove(&job.say.utterance_id);
            continue;
        }
        if next_seq.len() > 256 {
            next_seq.clear();
        }
        let seq = next_seq.entry(job.say.utterance_id.clone()).or_insert(0);
        let mut out = Streamer { client, handle, site: &job.site, say: &job.say, seq, rate: engine.sample_rate_hz(), pending: None };
        let spoken = speak(&mut engine, &job, chunk_samples, &mut out, &live);
        if let Some(spoken) = spoken {
            debug!(utterance = %spoken.utterance_id, seq = spoken.seq, audio_ms = spoken.audio_ms, synth_ms = spoken.synth_ms,
                waited_ms = job.queued.elapsed().as_millis() as u64, "spoken");
            publish(handle, client, &job.site, &spoken);
        }
        if job.say.last {
            next_seq.remove(&job.say.utterance_id);
        }
    }
}

/// Synthesizes one `Say` piece by piece and streams it. `None` when it was cancelled midway.
fn speak(engine: &mut Engine, job: &Job, chunk_samples: usize, out: &mut Streamer, live: &dyn Fn() -> bool) -> Option<Spoken> {
    let say = &job.say;
    let mut spoken = Spoken {
        utterance_id: say.utterance_id.clone(),
        session_id: say.session_id.clone(),
        seq: say.seq,
        audio_ms: 0,
        synth_ms: 0,
        voice: engine.voice_name(),
        error: None,
    };
    let pieces = engine.pieces(&say.text);
    if pieces.is_empty() {
        spoken.error = Some(if say.text.trim().is_empty() { "empty text".into() } else { "nothing speakable in the text".into() });
    }
    let mut samples_total = 0usize;
    let mut synth = Duration::ZERO;
    for piece in &pieces {
        let started = Instant::now();
        let result = engine.synthesize(piece);
        synth += started.elapsed();
        if !live() {
            return None;
        }
        match result {
            Ok(audio) => {
                samples_total += audio.len();
                for chunk in audio.chunks(chunk_samples) {
                    out.push(chunk);
                }
            }
            Err(e) => {
                warn!(utterance = %say.utterance_id, error = %e, "synthesis failed");
                spoken.error = Some(e.to_string());
                break;
            }
        }
    }
    out.finish();
    spoken.audio_ms = (samples_total as u64 * 1000) / engine.sample_rate_hz() as u64;
    spoken.synth_ms = synth.as_millis() as u64;
    Some(spoken)
}

/// Publishes chunks one behind, so the last chunk of a final `Say` can carry `last = true`.
struct Streamer<'a> {
    client: &'a BusClient,
    handle: &'a Handle,
    site: &'a str,
    say: &'a Say,
    seq: &'a mut u32,
    rate: u32,
    pending: Option<Vec<i16>>,
}

impl Streamer<'_> {
    fn push(&mut self, samples: &[i16]) {
        if let Some(prev) = self.pending.replace(samples.to_vec()) {
            self.send(&prev, false);
        }
    }

    fn finish(&mut self) {
        match self.pending.take() {
            Some(prev) => self.send(&prev, self.say.last),
            None if self.say.last => self.send(&[], true),
            None => {}
        }
    }

    fn send(&mut self, samples: &[i16], last: bool) {
        let chunk = PlayChunk {
            utterance_id: self.say.utterance_id.clone(),
            session_id: self.say.session_id.clone(),
            seq: *self.seq,
            sample_rate_hz: self.rate,
            channels: 1,
            pcm: samples_to_pcm(samples),
            last,
        };
        *self.seq += 1;
        publish(self.handle, self.client, self.site, &chunk);
    }
}

fn publish<M: hearth_bus::Message>(handle: &Handle, client: &BusClient, site: &str, msg: &M) {
    if let Err(error) = handle.block_on(client.publish(site, msg)) {
        warn!(%site, topic = M::SUFFIX, %error, "publish failed");
    }
}
