//! The bus shell: requests from every site go into one queue, served in order by the engine on its own named
//! thread (never on the async executor); each step of each answer is published as soon as the engine makes it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use hearth_bus::llm::{LlmEvent, LlmEventKind, LlmRequest};
use hearth_bus::service::ServiceState;
use hearth_bus::tool::catalog;
use hearth_bus::{Bus, BusClient, Shutdown};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::engine::{Engine, LlmModel, Output};
use crate::{LlmConfig, LlmError};

/// What the service needs beyond `[llm]`: where the model and the saved prefix state live.
#[derive(Debug, Clone)]
pub struct LlmPaths {
    pub model: PathBuf,
    /// `<data_dir>/llm`; `None` disables saving the prefix state.
    pub state_dir: Option<PathBuf>,
}

impl LlmPaths {
    pub fn from_node(config: &LlmConfig, node: &hearth_node::NodeConfig) -> LlmPaths {
        LlmPaths {
            model: config.model_path(&node.models_dir()),
            state_dir: config.prefix_cache.then(|| node.data_dir.join("llm")),
        }
    }
}

struct Job {
    site: String,
    request: LlmRequest,
    received: Instant,
}

/// From the engine thread to the bus.
enum Note {
    Status(ServiceState, Option<String>),
    Capabilities(Vec<String>),
    Event(String, LlmEvent),
}

/// Serves requests until shutdown.
pub async fn run(config: LlmConfig, paths: LlmPaths, bus: Bus, shutdown: Shutdown) -> Result<(), LlmError> {
    let Bus { client, mut inbox } = bus;
    client.subscribe_all_sites::<LlmRequest>().await?;
    client.set_capabilities(vec![model_capability(&paths)]).await?;
    client.set_status(ServiceState::Unavailable, Some(format!("loading {}", paths.model.display()))).await?;

    let (job_tx, job_rx) = std_mpsc::channel::<Job>();
    let (note_tx, mut note_rx) = mpsc::unbounded_channel::<Note>();
    let cancel = Arc::new(AtomicBool::new(false));
    let thread_cancel = cancel.clone();
    let engine_thread = std::thread::Builder::new()
        .name("llm-engine".into())
        .spawn(move || engine_main(config, paths, job_rx, note_tx, thread_cancel))
        .map_err(|e| LlmError::Thread(e.to_string()))?;

    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let (Some(site), Some(request)) = (envelope.site().map(str::to_owned), envelope.decode::<LlmRequest>()) else {
                    continue;
                };
                info!(%site, request_id = %request.request_id, messages = request.messages.len(), "llm request");
                if job_tx.send(Job { site, request, received: Instant::now() }).is_err() {
                    error!("engine thread has stopped");
                    break;
                }
            }
            note = note_rx.recv() => match note {
                Some(note) => on_note(&client, note).await,
                None => {
                    error!("engine thread has stopped");
                    break;
                }
            },
        }
    }
    cancel.store(true, Ordering::Relaxed);
    drop(job_tx);
    // Let the thread finish its turn (it stops at the next token) without blocking the executor.
    let joined = tokio::task::spawn_blocking(move || engine_thread.join());
    if tokio::time::timeout(Duration::from_secs(10), joined).await.is_err() {
        warn!("engine thread did not stop within 10 s");
    }
    Ok(())
}

fn model_capability(paths: &LlmPaths) -> String {
    let name = paths.model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!("llm:{name}")
}

async fn on_note(client: &BusClient, note: Note) {
    match note {
        Note::Capabilities(capabilities) => {
            if let Err(e) = client.set_capabilities(capabilities).await {
                warn!(error = %e, "could not publish capabilities");
            }
        }
        Note::Status(state, detail) => {
            if let Err(e) = client.set_status(state, detail).await {
                warn!(error = %e, "could not publish status");
            }
        }
        Note::Event(site, event) => {
            if let Err(e) = client.publish(&site, &event).await {
                warn!(request_id = %event.request_id, error = %e, "could not publish llm event");
            }
        }
    }
}

fn engine_main(config: LlmConfig, paths: LlmPaths, jobs: std_mpsc::Receiver<Job>, notes: mpsc::UnboundedSender<Note>, cancel: Arc<AtomicBool>) {
    let model = match LlmModel::load(&paths.model) {
        Ok(model) => model,
        Err(e) => {
            error!(error = %e, "language model unavailable");
            serve_unavailable(&e.to_string(), &jobs, &notes);
            return;
        }
    };
    let mut engine = match Engine::new(&model, &config, catalog(), paths.state_dir.as_deref()) {
        Ok(engine) => engine,
        Err(e) => {
            error!(error = %e, "language model unavailable");
            serve_unavailable(&e.to_string(), &jobs, &notes);
            return;
        }
    };
    engine.set_cancel_flag(cancel);
    let mut capabilities = vec![model_capability(&paths)];
    if !engine.tools().is_empty() {
        capabilities.push("tool-calls".into());
    }
    let _ = notes.send(Note::Capabilities(capabilities));
    // Online either way; what the user should know (tools off, a built-in template) rides along as the detail.
    let detail = (!engine.notices().is_empty()).then(|| engine.notices().join("; "));
    let _ = notes.send(Note::Status(ServiceState::Online, detail));
    info!(model = %paths.model.display(), prefix_tokens = engine.prefix_tokens(), "language model ready");
    while let Ok(job) = jobs.recv() {
        on_job(&mut engine, job, &notes);
    }
}

/// Answers every request with the reason, so the brain can say something rather than wait.
fn serve_unavailable(detail: &str, jobs: &std_mpsc::Receiver<Job>, notes: &mpsc::UnboundedSender<Note>) {
    let _ = notes.send(Note::Status(ServiceState::Unavailable, Some(detail.to_string())));
    while let Ok(job) = jobs.recv() {
        let event = event(&job, LlmEventKind::Error { message: detail.to_string() });
        let _ = notes.send(Note::Event(job.site.clone(), event));
    }
}

fn on_job(engine: &mut Engine<'_>, job: Job, notes: &mpsc::UnboundedSender<Note>) {
    if job.request.messages.is_empty() {
        let _ = notes.send(Note::Event(job.site.clone(), event(&job, LlmEventKind::Error { message: "the request has no messages".into() })));
        return;
    }
    let result = engine.respond(&job.request.messages, |output| {
        let kind = match output {
            Output::Sentence(text) => LlmEventKind::Sentence { text },
            Output::ToolCall(call) => LlmEventKind::ToolCall { tool: call.tool, arguments: call.arguments },
        };
        let _ = notes.send(Note::Event(job.site.clone(), event(&job, kind)));
    });
    let kind = match result {
        Ok(stats) if stats.unusable.is_some() => {
            let message = stats.unusable.unwrap_or_default();
            warn!(request_id = %job.request.request_id, %message, "llm reply unusable");
            LlmEventKind::Error { message }
        }
        Ok(stats) => {
            info!(
                request_id = %job.request.request_id,
                prompt_tokens = stats.prompt_tokens,
                reused_tokens = stats.reused_tokens,
                generated_tokens = stats.generated_tokens,
                first_output_ms = stats.first_output_ms,
                total_ms = stats.total_ms,
                "llm turn done"
            );
            LlmEventKind::Done {
                prompt_tokens: stats.prompt_tokens,
                generated_tokens: stats.generated_tokens,
                elapsed_ms: job.received.elapsed().as_millis() as u64,
            }
        }
        Err(e) => {
            warn!(request_id = %job.request.request_id, error = %e, "llm turn failed");
            LlmEventKind::Error { message: e.to_string() }
        }
    };
    let _ = notes.send(Note::Event(job.site.clone(), event(&job, kind)));
}

fn event(job: &Job, kind: LlmEventKind) -> LlmEvent {
    LlmEvent { request_id: job.request.request_id.clone(), session_id: job.request.session_id.clone(), event: kind }
}
