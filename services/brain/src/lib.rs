//! The brain: owns each site's conversation. A transcript first meets the local intent matcher (time,
//! date, timers, stop), which answers through tool calls at once; anything else goes to the LLM
//! service, whose sentences are spoken as they arrive and whose tool calls are answered by the tool
//! services' finished sentences (no second LLM pass). Every wait has a timeout that ends in a short,
//! honest sentence. After a spoken reply has played, the brain opens a follow-up window.
//!
//! # Layout
//! - [`intent`]: the local intent matcher.
//! - [`memory`]: per-site conversation memory.
//! - [`turn`]: the turn in progress.
//! - [`config`]: the `[brain]` table.

pub mod config;
pub mod intent;
pub mod memory;
pub mod turn;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hearth_bus::asr::{NotHeard, NotHeardReason, Transcript, TranscriptSource};
use hearth_bus::audio::{Played, StopPlayback};
use hearth_bus::brain::{AssistantState, Reply, ReplySource, StateChanged};
use hearth_bus::ids::{new_id, now_ms};
use hearth_bus::listen::{EndReason, ListenReason, ListeningEnded, ListeningStarted, StartListening};
use hearth_bus::llm::{ChatMessage, LlmEvent, LlmEventKind, LlmRequest, Role};
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::tts::Say;
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusError, Envelope, Message, Shutdown};
use serde_json::{json, Value};
use thiserror::Error;
use tracing::{debug, info, warn};

pub use config::BrainConfig;
use intent::Intent;
use memory::Memory;
use turn::{Playback, Turn, Waiting};

#[derive(Debug, Error)]
pub enum BrainError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Sentences the brain speaks itself.
pub mod phrases {
    pub const NOT_CAUGHT: &str = "Sorry, I didn't catch that.";
    pub const ASR_DOWN: &str = "Sorry, I can't understand speech right now.";
    pub const DONT_KNOW: &str = "Sorry, I don't know.";
    pub const TOO_SLOW: &str = "Sorry, that took too long. Please try again.";
    pub const LLM_FAILED: &str = "Sorry, I can't answer that right now.";
    pub const NO_LLM: &str = "Sorry, I can only help with the time, the date and timers right now.";
    pub const TIMER_HOW_LONG: &str = "For how long?";
}

/// Runs the brain until shutdown.
pub async fn run(config: BrainConfig, bus: Bus, shutdown: Shutdown) -> Result<(), BrainError> {
    let Bus { client, mut inbox } = bus;
    client.subscribe_all_sites::<Transcript>().await?;
    client.subscribe_all_sites::<NotHeard>().await?;
    client.subscribe_all_sites::<ToolResult>().await?;
    client.subscribe_all_sites::<LlmEvent>().await?;
    client.subscribe_all_sites::<WakeDetected>().await?;
    client.subscribe_all_sites::<ListeningStarted>().await?;
    client.subscribe_all_sites::<ListeningEnded>().await?;
    client.subscribe_all_sites::<Played>().await?;
    client.subscribe("hearth/+/service/llm/status").await?;
    client.set_capabilities(vec!["intents:time,date,timers,stop".into(), format!("llm:{}", config.use_llm)]).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(use_llm = config.use_llm, follow_up_ms = config.follow_up_ms, "brain ready");
    let mut brain = Brain { client, config, sites: HashMap::new(), llm_online: false };
    loop {
        let deadline = brain.next_deadline();
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = sleep_until(deadline) => brain.on_deadlines(Instant::now()).await,
            envelope = inbox.recv() => match envelope {
                Some(envelope) => brain.on_envelope(envelope).await,
                None => break,
            },
        }
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

#[derive(Default)]
struct Site {
    memory: Memory,
    /// The session whose latest capture has been transcribed (or found empty), until a new capture
    /// starts: a late `listen/ended` for it must not open a wait for a transcript that already came.
    heard: Option<String>,
    turn: Option<Turn>,
    playback: Option<Playback>,
    state: Option<AssistantState>,
}

struct Brain {
    client: BusClient,
    config: BrainConfig,
    sites: HashMap<String, Site>,
    llm_online: bool,
}

impl Brain {
    fn next_deadline(&self) -> Option<Instant> {
        self.sites
            .values()
            .flat_map(|s| [s.turn.as_ref().map(|t| t.deadline), s.playback.as_ref().map(|p| p.deadline)])
            .flatten()
            .min()
    }

    async fn on_envelope(&mut self, envelope: Envelope) {
        let Some(site) = envelope.site().map(str::to_owned) else { return };
        if let Some(m) = envelope.decode::<Transcript>() {
            self.on_transcript(&site, m).await;
        } else if let Some(m) = envelope.decode::<ToolResult>() {
            self.on_tool_result(&site, m).await;
        } else if let Some(m) = envelope.decode::<LlmEvent>() {
            self.on_llm_event(&site, m).await;
        } else if let Some(m) = envelope.decode::<NotHeard>() {
            self.on_not_heard(&site, m).await;
        } else if let Some(m) = envelope.decode::<WakeDetected>() {
            self.set_state(&site, AssistantState::Listening, Some(m.session_id)).await;
        } else if let Some(m) = envelope.decode::<ListeningStarted>() {
            self.site(&site).playback = None;
            self.site(&site).heard = None;
            self.set_state(&site, AssistantState::Listening, Some(m.session_id)).await;
        } else if let Some(m) = envelope.decode::<ListeningEnded>() {
            self.on_listening_ended(&site, m).await;
        } else if let Some(m) = envelope.decode::<Played>() {
            self.on_played(&site, m).await;
        } else if let Some(m) = envelope.decode::<ServiceStatus>() {
            let online = m.state == ServiceState::Online;
            if online != self.llm_online {
                info!(online, "LLM service status changed");
            }
            self.llm_online = online;
        }
    }

    fn site(&mut self, site: &str) -> &mut Site {
        self.sites.entry(site.to_string()).or_default()
    }

    async fn on_transcript(&mut self, site: &str, t: Transcript) {
        let now = Instant::now();
        let text = t.text.trim().to_string();
        info!(site, session = %t.session_id, text = %text, "transcript");
        self.site(site).heard = Some(t.session_id.clone());
        if let Some(old) = self.site(site).turn.take() {
            // A new request supersedes an unfinished one. No `audio/stop` here: the broker does not order
            // it against the new turn's sentences, and TTS already drops a site's queue when a sentence of
            // another session arrives; late answers to the old turn no longer match and are ignored.
            debug!(site, old = %old.session_id, "superseded");
        }
        self.site(site).playback = None;
        let keep = Duration::from_secs(self.config.memory_s);
        self.site(site).memory.expire(now, keep);
        self.set_state(site, AssistantState::Thinking, Some(t.session_id.clone())).await;
        let mut turn = Turn {
            session_id: t.session_id.clone(),
            request: text.clone(),
            source: t.source,
            started: now,
            utterance_id: new_id(),
            seq: 0,
            spoken: Vec::new(),
            reply_source: ReplySource::Intent,
            tool: None,
            tool_data: None,
            waiting: Waiting::Tool { call_id: String::new() },
            deadline: now,
        };
        if text.is_empty() {
            return self.answer(site, turn, phrases::NOT_CAUGHT, ReplySource::Fallback).await;
        }
        match intent::parse(&text) {
            Intent::Stop => {
                self.publish(site, &StopPlayback { reason: "user".into() }).await;
                self.finish(site, turn).await;
            }
            Intent::TimerNeedsDuration => self.answer(site, turn, phrases::TIMER_HOW_LONG, ReplySource::Intent).await,
            Intent::Tool { tool, arguments } => self.call_tool(site, turn, tool.to_string(), arguments).await,
            Intent::Unknown if self.config.use_llm && self.llm_online => {
                let request_id = new_id();
                let max = self.config.memory_messages;
                let messages = self.site(site).memory.request(&text, max);
                turn.reply_source = ReplySource::Llm;
                turn.waiting = Waiting::Llm { request_id: request_id.clone(), answering: false };
                turn.deadline = now + Duration::from_millis(self.config.llm_first_event_timeout_ms);
                let request = LlmRequest { request_id, session_id: t.session_id, messages };
                self.publish(site, &request).await;
                self.site(site).turn = Some(turn);
            }
            Intent::Unknown => {
                if self.config.use_llm {
                    warn!(site, "no LLM service online: start `hearth-llm run` (or `hearth up`) and `hearth models pull qwen3-4b-instruct`");
                }
                self.answer(site, turn, phrases::NO_LLM, ReplySource::Fallback).await
            }
        }
    }

    async fn call_tool(&mut self, site: &str, mut turn: Turn, tool: String, arguments: Value) {
        let call_id = new_id();
        let call = ToolCall { call_id: call_id.clone(), session_id: Some(turn.session_id.clone()), tool: tool.clone(), arguments: arguments.clone() };
        info!(site, session = %turn.session_id, %tool, "tool call");
        turn.tool = Some((tool, arguments));
        turn.waiting = Waiting::Tool { call_id };
        turn.deadline = Instant::now() + Duration::from_millis(self.config.tool_timeout_ms);
        if let Err(error) = self.client.publish_on(call.topic(site), &call).await {
            warn!(%error, "could not publish tool call");
        }
        self.site(site).turn = Some(turn);
    }

    async fn on_tool_result(&mut self, site: &str, r: ToolResult) {
        let Some(mut turn) = self.take_turn_if(site, |w| matches!(w, Waiting::Tool { call_id } if *call_id == r.call_id)) else {
            return;
        };
        if turn.reply_source == ReplySource::Llm {
            turn.reply_source = ReplySource::Tool;
        }
        turn.tool_data = r.data;
        let source = turn.reply_source;
        self.answer(site, turn, &r.sentence, source).await;
    }

    async fn on_llm_event(&mut self, site: &str, e: LlmEvent) {
        let matches = |w: &Waiting| matches!(w, Waiting::Llm { request_id, .. } if *request_id == e.request_id);
        let Some(mut turn) = self.take_turn_if(site, matches) else { return };
        let now = Instant::now();
        match e.event {
            LlmEventKind::Sentence { text } => {
                turn.waiting = Waiting::Llm { request_id: e.request_id, answering: true };
                turn.deadline = now + Duration::from_millis(self.config.llm_idle_timeout_ms);
                self.speak(site, &mut turn, &text, false).await;
                self.site(site).turn = Some(turn);
            }
            LlmEventKind::ToolCall { tool, arguments } => {
                // Anything said before the call stays; the tool's sentence completes the reply.
                self.call_tool(site, turn, tool, arguments).await;
            }
            LlmEventKind::Done { prompt_tokens, generated_tokens, elapsed_ms } => {
                debug!(site, prompt_tokens, generated_tokens, elapsed_ms, "llm done");
                if turn.spoken.is_empty() {
                    self.answer(site, turn, phrases::DONT_KNOW, ReplySource::Fallback).await;
                } else {
                    self.close_utterance(site, &mut turn).await;
                    self.finish(site, turn).await;
                }
            }
            LlmEventKind::Error { message } => {
                warn!(site, %message, "llm error");
                if turn.spoken.is_empty() {
                    self.answer(site, turn, phrases::LLM_FAILED, ReplySource::Fallback).await;
                } else {
                    self.close_utterance(site, &mut turn).await;
                    self.finish(site, turn).await;
                }
            }
        }
    }

    /// A capture with speech ended: its transcript is due. Should speech recognition be gone (crashed,
    /// hung, its host down), the deadline turns the silence into a spoken reason instead of a turn that
    /// never ends.
    async fn on_listening_ended(&mut self, site: &str, m: ListeningEnded) {
        if !matches!(m.reason, EndReason::Silence | EndReason::MaxLength) {
            self.set_state(site, AssistantState::Idle, Some(m.session_id)).await;
            return;
        }
        // The broker orders messages within a topic, not across topics: the transcript may have come first,
        // and its turn (in progress or already answered) must not be replaced.
        if self.site(site).heard.as_deref() == Some(m.session_id.as_str()) {
            return;
        }
        self.set_state(site, AssistantState::Thinking, Some(m.session_id.clone())).await;
        let deadline = Instant::now() + Duration::from_millis(self.config.transcript_timeout_ms);
        self.site(site).turn = Some(Turn::without_request(m.session_id, Waiting::Transcript, deadline));
    }

    async fn on_not_heard(&mut self, site: &str, n: NotHeard) {
        // This is the answer the capture was waiting for.
        self.take_turn_if(site, |w| matches!(w, Waiting::Transcript));
        self.site(site).heard = Some(n.session_id.clone());
        let sentence = match n.reason {
            NotHeardReason::Unavailable => phrases::ASR_DOWN,
            _ => phrases::NOT_CAUGHT,
        };
        let turn = Turn::without_request(n.session_id, Waiting::Tool { call_id: String::new() }, Instant::now());
        self.answer(site, turn, sentence, ReplySource::Fallback).await;
    }

    async fn on_played(&mut self, site: &str, p: Played) {
        let Some(playback) = self.site(site).playback.take_if(|pb| pb.utterance_id == p.utterance_id) else {
            return;
        };
        if playback.follow_up && !p.interrupted && self.config.follow_up_ms > 0 {
            let start = StartListening {
                session_id: Some(playback.session_id),
                reason: ListenReason::FollowUp,
                no_speech_timeout_ms: Some(self.config.follow_up_ms),
            };
            self.publish(site, &start).await;
        } else {
            self.set_state(site, AssistantState::Idle, None).await;
        }
    }

    async fn on_deadlines(&mut self, now: Instant) {
        let sites: Vec<String> = self.sites.keys().cloned().collect();
        for site in sites {
            if self.site(&site).playback.as_ref().is_some_and(|p| p.deadline <= now) {
                self.site(&site).playback = None;
                self.set_state(&site, AssistantState::Idle, None).await;
            }
            let Some(mut turn) = self.take_turn_if(&site, |_| true) else { continue };
            if turn.deadline > now {
                self.site(&site).turn = Some(turn);
                continue;
            }
            warn!(site = %site, session = %turn.session_id, waiting = ?turn.waiting, "timed out");
            match (&turn.waiting, turn.spoken.is_empty()) {
                (Waiting::Llm { answering: true, .. }, false) => {
                    self.close_utterance(&site, &mut turn).await;
                    self.finish(&site, turn).await;
                }
                (Waiting::Transcript, _) => self.answer(&site, turn, phrases::ASR_DOWN, ReplySource::Fallback).await,
                _ => self.answer(&site, turn, phrases::TOO_SLOW, ReplySource::Fallback).await,
            }
        }
    }

    fn take_turn_if(&mut self, site: &str, pred: impl Fn(&Waiting) -> bool) -> Option<Turn> {
        self.sites.get_mut(site)?.turn.take_if(|t| pred(&t.waiting))
    }

    /// Speaks `sentence` as the last of the reply and ends the turn.
    async fn answer(&mut self, site: &str, mut turn: Turn, sentence: &str, source: ReplySource) {
        turn.reply_source = source;
        self.speak(site, &mut turn, sentence, true).await;
        self.finish(site, turn).await;
    }

    async fn speak(&mut self, site: &str, turn: &mut Turn, text: &str, last: bool) {
        let say = Say {
            utterance_id: turn.utterance_id.clone(),
            session_id: Some(turn.session_id.clone()),
            seq: turn.seq,
            text: text.to_string(),
            last,
        };
        turn.seq += 1;
        turn.spoken.push(text.to_string());
        self.publish(site, &say).await;
    }

    /// Ends an utterance whose sentences went out with `last = false`: an empty closing sentence.
    async fn close_utterance(&mut self, site: &str, turn: &mut Turn) {
        let say = Say {
            utterance_id: turn.utterance_id.clone(),
            session_id: Some(turn.session_id.clone()),
            seq: turn.seq,
            text: String::new(),
            last: true,
        };
        turn.seq += 1;
        self.publish(site, &say).await;
    }

    /// Publishes the reply summary, remembers the turn and waits for playback (then a follow-up).
    async fn finish(&mut self, site: &str, turn: Turn) {
        let text = turn.spoken.join(" ");
        let elapsed_ms = turn.started.elapsed().as_millis() as u64;
        info!(site, session = %turn.session_id, source = ?turn.reply_source, elapsed_ms, reply = %text, "reply");
        let reply = Reply {
            session_id: turn.session_id.clone(),
            request: turn.request.clone(),
            text: text.clone(),
            source: turn.reply_source,
            tool: turn.tool.as_ref().map(|(t, _)| t.clone()),
            elapsed_ms,
        };
        self.publish(site, &reply).await;
        if !turn.request.is_empty() {
            let remembered = match &turn.tool {
                Some((tool, arguments)) => ChatMessage {
                    role: Role::Tool,
                    content: json!({"tool": tool, "arguments": arguments, "result": text, "data": turn.tool_data}).to_string(),
                },
                None => ChatMessage { role: Role::Assistant, content: text.clone() },
            };
            self.site(site).memory.record(Instant::now(), &turn.request, remembered);
        }
        if turn.spoken.is_empty() {
            self.set_state(site, AssistantState::Idle, None).await;
            return;
        }
        let playback = Playback {
            utterance_id: turn.utterance_id,
            session_id: turn.session_id.clone(),
            // Typed requests have nobody at the microphone to follow up.
            follow_up: turn.source == TranscriptSource::Asr,
            deadline: Instant::now() + Duration::from_millis(self.config.playback_timeout_ms),
        };
        self.site(site).playback = Some(playback);
        self.set_state(site, AssistantState::Speaking, Some(turn.session_id)).await;
    }

    async fn set_state(&mut self, site: &str, state: AssistantState, session_id: Option<String>) {
        if self.site(site).state == Some(state) {
            return;
        }
        self.site(site).state = Some(state);
        self.publish(site, &StateChanged { state, session_id, timestamp_ms: now_ms() }).await;
    }

    async fn publish<M: Message>(&self, site: &str, msg: &M) {
        if let Err(error) = self.client.publish(site, msg).await {
            warn!(topic = M::SUFFIX, %error, "publish failed");
        }
    }
}
