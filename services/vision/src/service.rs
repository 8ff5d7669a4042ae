//! The vision service on the bus: answers `tool/call/look` from every site. For each call it asks the site's camera
//! for a frame, hands the picture to the engine on its own named thread (never the async executor), publishes each
//! sentence on `vision/sentence` as soon as it exists and ends with a `tool/result` holding the whole answer. Any
//! failure (no camera, a busy one, a bad picture, no model) is answered within the capture timeout with a short
//! spoken reason, and the service keeps running.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use hearth_bus::ids::new_id;
use hearth_bus::service::ServiceState;
use hearth_bus::tool::{call_filter, ToolCall, ToolResult};
use hearth_bus::vision::{look_question, CaptureRequest, Frame, VisionSentence, LOOK};
use hearth_bus::{Bus, BusClient, Shutdown};
use image::RgbImage;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use crate::engine::{Engine, VisionModel};
use crate::{picture, VisionConfig, VisionError};

/// Every failure is spoken as this, followed by the reason.
pub const CANNOT_SEE: &str = "I can't see anything right now:";

/// Where the model files are.
#[derive(Debug, Clone)]
pub struct VisionPaths {
    pub model: PathBuf,
    pub mmproj: PathBuf,
}

impl VisionPaths {
    pub fn from_node(config: &VisionConfig, node: &hearth_node::NodeConfig) -> VisionPaths {
        let models = node.models_dir();
        VisionPaths { model: config.model_path(&models), mmproj: config.mmproj_path(&models) }
    }
}

/// A `look` call being answered.
#[derive(Debug, Clone)]
struct Look {
    site: String,
    call: ToolCall,
    question: Option<String>,
    received: Instant,
}

struct Job {
    look: Look,
    image: RgbImage,
    frame: Frame,
}

/// From the engine thread and the capture tasks to the bus loop.
enum Note {
    /// The engine's state, the status detail and, when unavailable, the spoken reason.
    Status(ServiceState, Option<String>, &'static str),
    Sentence(Look, u32, String),
    Result(Look, ToolResult),
}

/// Whether the engine can take pictures now.
#[derive(Debug, Clone, Copy, PartialEq)]
enum EngineState {
    Loading,
    Ready,
    /// With the spoken reason.
    Unavailable(&'static str),
}

/// Serves `look` calls until shutdown.
pub async fn run(config: VisionConfig, paths: VisionPaths, bus: Bus, shutdown: Shutdown) -> Result<(), VisionError> {
    let Bus { client, mut inbox } = bus;
    client.subscribe(call_filter(LOOK)).await?;
    client.subscribe_all_sites::<Frame>().await?;
    let model_name = paths.model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    client.set_capabilities(vec![format!("tool:{LOOK}"), format!("vision:{model_name}")]).await?;
    client.set_status(ServiceState::Unavailable, Some(format!("loading {}", paths.model.display()))).await?;

    let (job_tx, job_rx) = std_mpsc::channel::<Job>();
    let (note_tx, mut note_rx) = mpsc::unbounded_channel::<Note>();
    let cancel = Arc::new(AtomicBool::new(false));
    let thread_cancel = cancel.clone();
    let thread_notes = note_tx.clone();
    let thread_config = config.clone();
    let engine_thread = std::thread::Builder::new()
        .name("vision-engine".into())
        .spawn(move || engine_main(thread_config, paths, job_rx, thread_notes, thread_cancel))
        .map_err(|e| VisionError::Thread(e.to_string()))?;

    let mut state = EngineState::Loading;
    // Capture requests waiting for their frame, by request id.
    let mut waiting: HashMap<String, oneshot::Sender<Frame>> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                if let Some(frame) = envelope.decode::<Frame>() {
                    if let Some(tx) = waiting.remove(&frame.request_id) {
                        let _ = tx.send(frame);
                    }
                    continue;
                }
                let (Some(site), Some(call)) = (envelope.site().map(str::to_owned), envelope.decode::<ToolCall>()) else { continue };
                if call.tool != LOOK {
                    continue;
                }
                waiting.retain(|_, tx| !tx.is_closed());
                let look = Look { site, question: look_question(&call.arguments), call, received: Instant::now() };
                info!(site = %look.site, call_id = %look.call.call_id, question = ?look.question, "look");
                if let EngineState::Unavailable(reason) = state {
                    let _ = note_tx.send(Note::Result(look.clone(), failure(&look, reason)));
                    continue;
                }
                let (tx, rx) = oneshot::channel();
                let request_id = new_id();
                waiting.insert(request_id.clone(), tx);
                tokio::spawn(capture_then_queue(client.clone(), config.clone(), look, request_id, rx, job_tx.clone(), note_tx.clone()));
            }
            note = note_rx.recv() => match note {
                Some(Note::Status(s, detail, reason)) => {
                    state = match s { ServiceState::Online => EngineState::Ready, _ => EngineState::Unavailable(reason) };
                    if let Err(e) = client.set_status(s, detail).await {
                        warn!(error = %e, "could not publish status");
                    }
                }
                Some(Note::Sentence(look, seq, text)) => {
                    let sentence = VisionSentence { call_id: look.call.call_id.clone(), session_id: look.call.session_id.clone(), seq, text };
                    if let Err(e) = client.publish(&look.site, &sentence).await {
                        warn!(error = %e, "could not publish a vision sentence");
                    }
                }
                Some(Note::Result(look, result)) => {
                    info!(call_id = %result.call_id, ok = result.ok, elapsed_ms = look.received.elapsed().as_millis() as u64, sentence = %result.sentence, "look answered");
                    if let Err(e) = client.publish(&look.site, &result).await {
                        warn!(error = %e, "could not publish the tool result");
                    }
                }
                None => {
                    error!("engine thread has stopped");
                    break;
                }
            },
        }
    }
    cancel.store(true, Ordering::Relaxed);
    drop(job_tx);
    let joined = tokio::task::spawn_blocking(move || engine_thread.join());
    if tokio::time::timeout(Duration::from_secs(10), joined).await.is_err() {
        warn!("engine thread did not stop within 10 s");
    }
    Ok(())
}

/// Asks the site's camera for a frame, checks the picture and queues it for the engine; any failure is answered.
async fn capture_then_queue(
    client: BusClient,
    config: VisionConfig,
    look: Look,
    request_id: String,
    frame_rx: oneshot::Receiver<Frame>,
    jobs: std_mpsc::Sender<Job>,
    notes: mpsc::UnboundedSender<Note>,
) {
    let request = CaptureRequest { request_id: request_id.clone(), session_id: look.call.session_id.clone() };
    if let Err(e) = client.publish(&look.site, &request).await {
        warn!(error = %e, "could not ask the camera for a frame");
    }
    let frame = match tokio::time::timeout(Duration::from_millis(config.capture_timeout_ms), frame_rx).await {
        Ok(Ok(frame)) => frame,
        _ => {
            warn!(site = %look.site, request_id, "no camera answered");
            let _ = notes.send(Note::Result(look.clone(), failure(&look, "the camera is not available.")));
            return;
        }
    };
    if let Some(reason) = &frame.error {
        let _ = notes.send(Note::Result(look.clone(), failure(&look, reason)));
        return;
    }
    let max_bytes = config.max_image_bytes;
    let jpeg = frame.jpeg.clone();
    let decoded = tokio::task::spawn_blocking(move || picture::decode(&jpeg, max_bytes)).await;
    let image = match decoded {
        Ok(Ok(image)) => image,
        Ok(Err(e)) => {
            warn!(request_id, error = %e, "the frame cannot be used");
            let _ = notes.send(Note::Result(look.clone(), failure(&look, "the camera's picture could not be read.")));
            return;
        }
        Err(e) => {
            warn!(error = %e, "decoder thread failed");
            let _ = notes.send(Note::Result(look.clone(), failure(&look, "the camera's picture could not be read.")));
            return;
        }
    };
    if jobs.send(Job { look: look.clone(), image, frame }).is_err() {
        let _ = notes.send(Note::Result(look.clone(), failure(&look, "the vision model has stopped.")));
    }
}

fn failure(look: &Look, reason: &str) -> ToolResult {
    ToolResult {
        call_id: look.call.call_id.clone(),
        session_id: look.call.session_id.clone(),
        tool: LOOK.into(),
        ok: false,
        sentence: format!("{CANNOT_SEE} {reason}"),
        data: None,
    }
}

fn engine_main(config: VisionConfig, paths: VisionPaths, jobs: std_mpsc::Receiver<Job>, notes: mpsc::UnboundedSender<Note>, cancel: Arc<AtomicBool>) {
    let model = match VisionModel::load(&paths.model, &paths.mmproj) {
        Ok(model) => model,
        Err(e) => return serve_unavailable(&e, &jobs, &notes),
    };
    let mut engine = match Engine::new(&model, &config) {
        Ok(engine) => engine,
        Err(e) => return serve_unavailable(&e, &jobs, &notes),
    };
    engine.set_cancel_flag(cancel);
    match engine.warm_up() {
        Ok(warm_ms) => info!(warm_ms, load_ms = model.load_ms, mmproj_ms = engine.mmproj_load_ms, "vision model ready"),
        Err(e) => return serve_unavailable(&e, &jobs, &notes),
    }
    let _ = notes.send(Note::Status(ServiceState::Online, None, ""));
    while let Ok(job) = jobs.recv() {
        on_job(&mut engine, job, &notes);
    }
}

/// Answers every queued call with the reason, so nobody waits on a model that is not there.
fn serve_unavailable(e: &VisionError, jobs: &std_mpsc::Receiver<Job>, notes: &mpsc::UnboundedSender<Note>) {
    error!(error = %e, "vision model unavailable");
    let reason = match e {
        VisionError::MissingModel { .. } => "the vision model is not installed.",
        _ => "the vision model could not be loaded.",
    };
    let _ = notes.send(Note::Status(ServiceState::Unavailable, Some(e.to_string()), reason));
    while let Ok(job) = jobs.recv() {
        let _ = notes.send(Note::Result(job.look.clone(), failure(&job.look, reason)));
    }
}

fn on_job(engine: &mut Engine<'_>, job: Job, notes: &mpsc::UnboundedSender<Note>) {
    let Job { look, image, frame } = job;
    let mut seq = 0;
    let result = engine.describe(&image, look.question.as_deref(), |sentence| {
        let _ = notes.send(Note::Sentence(look.clone(), seq, sentence.to_string()));
        seq += 1;
    });
    let result = match result {
        Ok(stats) if stats.sentences.is_empty() => {
            warn!(call_id = %look.call.call_id, generated = stats.generated_tokens, "the model said nothing speakable");
            ToolResult { sentence: "I looked, but I could not make out anything.".into(), ..failure(&look, "") }
        }
        Ok(stats) => {
            info!(
                call_id = %look.call.call_id,
                image_tokens = stats.image_tokens,
                prompt_ms = stats.prompt_ms,
                generated_tokens = stats.generated_tokens,
                first_sentence_ms = ?stats.first_sentence_ms,
                total_ms = stats.total_ms,
                "described"
            );
            ToolResult {
                call_id: look.call.call_id.clone(),
                session_id: look.call.session_id.clone(),
                tool: LOOK.into(),
                ok: true,
                sentence: stats.sentences.join(" "),
                data: Some(json!({
                    "streamed_sentences": stats.sentences.len(),
                    "source": frame.source,
                    "width": frame.width,
                    "height": frame.height,
                    "capture_ms": frame.capture_ms,
                    "image_tokens": stats.image_tokens,
                    "prompt_ms": stats.prompt_ms,
                    "generated_tokens": stats.generated_tokens,
                    "first_sentence_ms": stats.first_sentence_ms,
                    "describe_ms": stats.total_ms,
                })),
            }
        }
        Err(e) => {
            warn!(call_id = %look.call.call_id, error = %e, "describing failed");
            failure(&look, "the vision model failed.")
        }
    };
    let _ = notes.send(Note::Result(look, result));
}
