//! The timers service: `set_timer`, `cancel_timer` and `timer_status` tool calls, durable timers that
//! survive restarts, and announcements (a chime, `timer/done`, and a spoken sentence) when one is due.
//! Timers that fell due while the service was down are announced when it starts.
//!
//! # Layout
//! - [`book`]: pure timer logic and the sentences it speaks.
//! - [`store`]: the durable JSON file.

pub mod book;
pub mod store;

use std::path::PathBuf;
use std::time::Duration;

use hearth_bus::audio::{Chime, ChimeKind};
use hearth_bus::ids::{new_id, now_ms};
use hearth_bus::service::ServiceState;
use hearth_bus::timer::{Timer, TimerDone, TimerState};
use hearth_bus::tool::{call_filter, names, ToolCall, ToolResult};
use hearth_bus::tts::Say;
use hearth_bus::{Bus, BusClient, BusError, Shutdown};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tracing::{info, warn};

use book::{announcement, CancelTarget, TimerBook};
use store::TimerStore;

#[derive(Debug, Error)]
pub enum TimersError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("timers file {path}: {source}")]
    Store { path: PathBuf, source: std::io::Error },
}

/// The `[timers]` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimersConfig {
    /// The timers file; default `<data_dir>/timers.json`.
    pub file: Option<PathBuf>,
}

impl TimersConfig {
    pub fn store(&self, data_dir: &std::path::Path) -> TimerStore {
        TimerStore::new(self.file.clone().unwrap_or_else(|| data_dir.join("timers.json")))
    }
}

const SERVED: &[&str] = &[names::SET_TIMER, names::CANCEL_TIMER, names::TIMER_STATUS];
/// Longest timer: one day.
const MAX_DURATION_S: u64 = 86_400;

/// Serves timer tools until shutdown.
pub async fn run(store: TimerStore, bus: Bus, shutdown: Shutdown) -> Result<(), TimersError> {
    let Bus { client, mut inbox } = bus;
    let mut book = TimerBook::new(store.load()?);
    info!(file = %store.path().display(), timers = book.all().len(), "timers loaded");
    for tool in SERVED {
        client.subscribe(call_filter(tool)).await?;
    }
    client.set_capabilities(SERVED.iter().map(|t| format!("tool:{t}")).collect()).await?;
    client.set_status(ServiceState::Online, None).await?;
    for site in book.sites() {
        publish_state(&client, &book, &site).await;
    }
    loop {
        // Timers that are already due (missed while down, or just now) are announced first.
        announce_due(&client, &mut book, &store).await;
        let sleep = match book.next_due_ms() {
            Some(due) => Duration::from_millis((due - now_ms()).max(0) as u64),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = tokio::time::sleep(sleep) => {}
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let (Some(site), Some(call)) = (envelope.site().map(str::to_owned), envelope.decode::<ToolCall>()) else {
                    continue;
                };
                let result = on_tool_call(&mut book, &store, &site, &call);
                if let Err(error) = client.publish(&site, &result).await {
                    warn!(%error, "could not publish timer result");
                }
                publish_state(&client, &book, &site).await;
            }
        }
    }
    Ok(())
}

fn on_tool_call(book: &mut TimerBook, store: &TimerStore, site: &str, call: &ToolCall) -> ToolResult {
    let args = &call.arguments;
    let name = args.get("name").and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    let (ok, sentence) = match call.tool.as_str() {
        names::SET_TIMER => match args.get("duration_seconds").and_then(|v| v.as_f64()) {
            Some(s) if s >= 1.0 && s <= MAX_DURATION_S as f64 => {
                let now = now_ms();
                let duration_ms = (s * 1000.0).round() as u64;
                let timer = Timer {
                    id: new_id(),
                    name,
                    site: site.to_string(),
                    duration_ms,
                    due_at_ms: now + duration_ms as i64,
                    created_at_ms: now,
                };
                info!(site, id = %timer.id, duration_ms, "timer set");
                (true, book.add(timer))
            }
            Some(_) => (false, "Timers can run from one second to one day.".to_string()),
            None => (false, "How long should the timer be?".to_string()),
        },
        names::CANCEL_TIMER => {
            let all = args.get("all").and_then(|v| v.as_bool()).unwrap_or(false);
            let target = match (all, name) {
                (true, _) => CancelTarget::All,
                (false, Some(n)) => CancelTarget::Named(n),
                (false, None) => CancelTarget::TheOne,
            };
            let (removed, sentence) = book.cancel(site, &target);
            (!removed.is_empty(), sentence)
        }
        names::TIMER_STATUS => (true, book.status(site, name.as_deref(), now_ms())),
        other => (false, format!("I can't do {other}.")),
    };
    if let Err(error) = store.save(book.all()) {
        // The timer still runs in memory; only durability is lost. Say so in the log, loudly.
        warn!(%error, "could not save timers");
    }
    ToolResult {
        call_id: call.call_id.clone(),
        session_id: call.session_id.clone(),
        tool: call.tool.clone(),
        ok,
        sentence,
        data: Some(serde_json::json!({ "timers": book.for_site(site) })),
    }
}

async fn announce_due(client: &BusClient, book: &mut TimerBook, store: &TimerStore) {
    let now = now_ms();
    let due = book.take_due(now);
    if due.is_empty() {
        return;
    }
    if let Err(error) = store.save(book.all()) {
        warn!(%error, "could not save timers");
    }
    for timer in due {
        let late_ms = (now - timer.due_at_ms).max(0) as u64;
        let sentence = announcement(&timer, late_ms);
        info!(site = %timer.site, id = %timer.id, late_ms, "timer done");
        let site = timer.site.clone();
        let utterance_id = new_id();
        let results = [
            client.publish(&site, &Chime { chime: ChimeKind::Timer, session_id: None }).await,
            client.publish(&site, &TimerDone { timer, sentence: sentence.clone(), late_ms }).await,
            client.publish(&site, &Say { utterance_id, session_id: None, seq: 0, text: sentence, last: true }).await,
        ];
        for error in results.into_iter().filter_map(Result::err) {
            warn!(%error, "could not announce timer");
        }
        publish_state(client, book, &site).await;
    }
}

async fn publish_state(client: &BusClient, book: &TimerBook, site: &str) {
    if let Err(error) = client.publish(site, &TimerState { timers: book.for_site(site) }).await {
        warn!(%error, "could not publish timer state");
    }
}
