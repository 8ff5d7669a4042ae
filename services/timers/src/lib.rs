//! The timers service: `set_timer`, `cancel_timer`, `extend_timer` and `timer_status` tool calls (the
//! last also lists them), durable timers that
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

use book::{announcement, CancelTarget, TimerBook, MAX_DURATION_S};
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

const SERVED: &[&str] = &[names::SET_TIMER, names::CANCEL_TIMER, names::EXTEND_TIMER, names::TIMER_STATUS];

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

/// Answers one timer tool call (public for tests: the service is this plus the bus).
pub fn on_tool_call(book: &mut TimerBook, store: &TimerStore, site: &str, call: &ToolCall) -> ToolResult {
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
        names::EXTEND_TIMER => match args.get("duration_seconds").and_then(|v| v.as_f64()) {
            Some(s) if s >= 1.0 && s <= MAX_DURATION_S as f64 => {
                let (changed, sentence) = book.extend(site, name.as_deref(), s.round() as u64, now_ms());
                (changed.is_some(), sentence)
            }
            Some(_) => (false, "I can add between one second and one day to a timer.".to_string()),
            None => (false, "How much time should I add?".to_string()),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(tool: &str, arguments: serde_json::Value) -> ToolCall {
        ToolCall { call_id: "c".into(), session_id: None, tool: tool.into(), arguments }
    }

    /// The calls the fast path makes for "set a pasta timer", "add five minutes", "what timers do I
    /// have", "cancel all timers", as the service answers them.
    #[test]
    fn set_extend_list_and_cancel_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = TimerStore::new(dir.path().join("timers.json"));
        let mut book = TimerBook::default();
        let r = on_tool_call(&mut book, &store, "kitchen", &call(names::SET_TIMER, json!({"duration_seconds": 600, "name": "pasta"})));
        assert!(r.ok, "{r:?}");
        let r = on_tool_call(&mut book, &store, "kitchen", &call(names::EXTEND_TIMER, json!({"duration_seconds": 300})));
        assert!(r.ok && r.sentence.starts_with("Okay, I added five minutes to your pasta timer."), "{r:?}");
        assert_eq!(r.data.as_ref().unwrap()["timers"][0]["duration_ms"], json!(900_000));
        on_tool_call(&mut book, &store, "kitchen", &call(names::SET_TIMER, json!({"duration_seconds": 60})));
        let r = on_tool_call(&mut book, &store, "kitchen", &call(names::TIMER_STATUS, json!({})));
        assert!(r.sentence.starts_with("You have two timers."), "{r:?}");
        let r = on_tool_call(&mut book, &store, "kitchen", &call(names::EXTEND_TIMER, json!({"duration_seconds": 0})));
        assert!(!r.ok);
        let r = on_tool_call(&mut book, &store, "kitchen", &call(names::CANCEL_TIMER, json!({"all": true})));
        assert_eq!(r.sentence, "Okay, I cancelled all two timers.");
        // Saved after every call: a restart finds none.
        assert!(store.load().unwrap().is_empty());
    }
}
