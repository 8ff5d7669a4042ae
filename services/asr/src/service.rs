//! The ASR service: utterances in, transcripts (or "not heard") out, one at a time, in order.
//!
//! The recogniser lives on its own named thread (`hearth-asr-whisper`): loading the model and each
//! transcription take from milliseconds to seconds of CPU and must never block the async executor
//! that keeps the MQTT connection alive. Utterances queue in a channel in arrival order; replies come
//! back on another channel and are published from the async loop.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hearth_bus::asr::{NotHeard, NotHeardReason, Transcript, TranscriptSource};
use hearth_bus::listen::Utterance;
use hearth_bus::service::ServiceState;
use hearth_bus::{Bus, BusClient, Shutdown};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::audio::{duration_ms, pad_to_min, to_whisper_input};
use crate::config::{AsrConfig, DEFAULT_MODEL_NAME};
use crate::engine::{DecodeOptions, Recognizer};
use crate::filter::{classify, Heard};
use crate::AsrError;

/// How long shutdown waits for a transcription in progress.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// What the recogniser thread sends back.
enum Outcome {
    /// The model loaded (capabilities to announce) or could not be (the one-line reason).
    Ready(Result<Vec<String>, String>),
    Reply { site: String, reply: Reply },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Transcript(Transcript),
    NotHeard(NotHeard),
}

struct Job {
    site: String,
    utterance: Utterance,
}

/// Serves speech recognition until shutdown. A missing or corrupt model does not stop the service:
/// it reports `unavailable` and answers every utterance with `not_heard` (reason `unavailable`).
pub async fn run(config: AsrConfig, bus: Bus, shutdown: Shutdown) -> Result<(), AsrError> {
    let Bus { client, mut inbox } = bus;
    let path = config.model.clone().unwrap_or_else(|| {
        crate::config::default_model_path(&hearth_node::config::default_data_dir().join("models"))
    });
    let options = decode_options(&config);
    let (jobs, job_rx) = std_mpsc::channel::<Job>();
    let (out_tx, mut outcomes) = mpsc::unbounded_channel::<Outcome>();
    let stopping = Arc::new(AtomicBool::new(false));
    let worker = spawn_worker(path, options, job_rx, out_tx, stopping.clone())?;

    client.subscribe_all_sites::<Utterance>().await?;
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let (Some(site), Some(utterance)) = (envelope.site().map(str::to_owned), envelope.decode::<Utterance>()) else {
                    continue;
                };
                if jobs.send(Job { site, utterance }).is_err() {
                    error!("recogniser thread is gone");
                    break;
                }
            }
            outcome = outcomes.recv() => {
                let Some(outcome) = outcome else {
                    error!("recogniser thread stopped");
                    break;
                };
                on_outcome(&client, outcome).await;
            }
        }
    }
    stopping.store(true, Ordering::SeqCst);
    drop(jobs);
    finish(worker).await;
    Ok(())
}

fn decode_options(config: &AsrConfig) -> DecodeOptions {
    DecodeOptions {
        language: config.language.trim().to_string(),
        threads: config.threads(),
        beam_size: config.beam_size,
        scale_audio_ctx: config.scale_audio_ctx,
        audio_ctx_floor: config.audio_ctx_floor,
        temperature_fallback: config.temperature_fallback,
        max_tokens: 0,
        timestamps: false,
    }
}

fn spawn_worker(
    path: PathBuf,
    options: DecodeOptions,
    jobs: std_mpsc::Receiver<Job>,
    out: mpsc::UnboundedSender<Outcome>,
    stopping: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, AsrError> {
    let thread = std::thread::Builder::new().name("hearth-asr-whisper".into()).spawn(move || {
        let mut engine = match Recognizer::load(&path, DEFAULT_MODEL_NAME, options) {
            Ok(engine) => {
                let size = engine.summary().hparams.size_name();
                let caps = vec![format!("asr:whisper-{size}"), format!("language:{}", engine.options().language)];
                let _ = out.send(Outcome::Ready(Ok(caps)));
                Ok(engine)
            }
            Err(e) => {
                let why = e.to_string();
                let _ = out.send(Outcome::Ready(Err(why.clone())));
                Err(why)
            }
        };
        while let Ok(job) = jobs.recv() {
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            let reply = on_utterance(engine.as_mut().map_err(|why| &*why), job.utterance);
            if out.send(Outcome::Reply { site: job.site, reply }).is_err() {
                break;
            }
        }
    });
    thread.map_err(AsrError::Thread)
}

/// Turns one utterance into a reply. `engine` is the loaded recogniser or why there is none.
pub fn on_utterance(engine: Result<&mut Recognizer, &String>, utterance: Utterance) -> Reply {
    let started = Instant::now();
    let session_id = utterance.session_id;
    let not_heard = |reason, detail: String| Reply::NotHeard(NotHeard { session_id: session_id.clone(), reason, detail: Some(detail) });
    let engine = match engine {
        Ok(e) => e,
        Err(why) => return not_heard(NotHeardReason::Unavailable, why.clone()),
    };
    let audio = match to_whisper_input(&utterance.pcm, utterance.sample_rate_hz, utterance.channels) {
        Ok(a) => a,
        Err(e) => {
            warn!(session = %session_id, error = %e, "unusable utterance audio");
            return not_heard(NotHeardReason::Empty, format!("unusable audio: {e}"));
        }
    };
    if audio.is_empty() {
        return not_heard(NotHeardReason::Empty, "no audio".into());
    }
    let audio_ms = duration_ms(audio.len());
    let recognition = match engine.transcribe(&pad_to_min(audio)) {
        Ok(r) => r,
        Err(e) => {
            error!(session = %session_id, error = %e, "transcription failed");
            return not_heard(NotHeardReason::Unavailable, e.to_string());
        }
    };
    let processing_ms = started.elapsed().as_millis() as u64;
    match classify(&recognition.text) {
        Heard::Speech(text) => {
            info!(session = %session_id, %text, audio_ms, processing_ms, audio_ctx = recognition.audio_ctx, "heard");
            Reply::Transcript(Transcript { session_id, text, source: TranscriptSource::Asr, audio_ms, processing_ms })
        }
        Heard::Empty => {
            info!(session = %session_id, audio_ms, processing_ms, "heard nothing");
            Reply::NotHeard(NotHeard { session_id, reason: NotHeardReason::Empty, detail: None })
        }
        Heard::NonSpeech(raw) => {
            info!(session = %session_id, raw = %raw, audio_ms, processing_ms, "heard only non-speech");
            Reply::NotHeard(NotHeard { session_id, reason: NotHeardReason::NonSpeech, detail: Some(raw) })
        }
    }
}

async fn on_outcome(client: &BusClient, outcome: Outcome) {
    let published = match outcome {
        Outcome::Ready(Ok(capabilities)) => {
            let caps = client.set_capabilities(capabilities).await;
            caps.and(client.set_status(ServiceState::Online, None).await)
        }
        Outcome::Ready(Err(why)) => {
            error!("{why}");
            client.set_status(ServiceState::Unavailable, Some(why)).await
        }
        Outcome::Reply { site, reply: Reply::Transcript(t) } => client.publish(&site, &t).await,
        Outcome::Reply { site, reply: Reply::NotHeard(n) } => client.publish(&site, &n).await,
    };
    if let Err(error) = published {
        warn!(%error, "could not publish");
    }
}

/// Waits for the recogniser thread to finish the utterance in hand.
async fn finish(worker: JoinHandle<()>) {
    let joined = tokio::task::spawn_blocking(move || worker.join());
    match tokio::time::timeout(FINISH_TIMEOUT, joined).await {
        Ok(Ok(Ok(()))) => {}
        Ok(_) => error!("recogniser thread panicked"),
        Err(_) => warn!("recogniser still busy at shutdown; leaving it"),
    }
}
