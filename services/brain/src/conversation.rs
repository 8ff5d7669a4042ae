//! Every site's conversation as a plain state machine: events in, messages out, time passed in. Nothing
//! here waits, sleeps or touches the bus, so every race and deadline is tested with explicit instants.
//!
//! Per site it keeps the memory for the LLM, the one turn that waits for something (a transcript, a tool
//! result, the LLM, a message handler's result), the reply being played (for the follow-up window), the
//! message waiting for its yes ([`messaging`]) and the last published state.

mod looking;
mod messaging;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hearth_bus::asr::{NotHeard, NotHeardReason, Transcript, TranscriptSource};
use hearth_bus::audio::{Played, StopPlayback};
use hearth_bus::brain::{AssistantState, Reply, ReplySource, StateChanged};
use hearth_bus::listen::{EndReason, ListenReason, ListeningEnded, StartListening};
use hearth_bus::llm::{ChatMessage, LlmEvent, LlmEventKind, LlmRequest, Role};
use hearth_bus::service::ServiceState;
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::tts::Say;
use hearth_bus::vision::LOOK;
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::config::BrainConfig;
use crate::events::{Inbound, OutMessage, Outbound};
use crate::local::{LocalContext, LocalMatch, LocalMatcher};
use crate::memory::{self, Memory};
use crate::phrases;
use crate::served::ServedTools;
use crate::turn::{Pending, Playback, Turn, Waiting};
use messaging::{Handoff, Incoming};
pub use messaging::HandoffKind;

/// Where new ids (utterances, requests, tool calls) come from: random in the service, counted in tests.
pub type IdSource = Box<dyn FnMut() -> String + Send>;

#[derive(Default)]
struct Site {
    memory: Memory,
    /// The session whose latest capture has been transcribed (or found empty), until a new capture
    /// starts: a late `listen/ended` for it must not open a wait for a transcript that already came.
    heard: Option<String>,
    pending: Option<Pending>,
    playback: Option<Playback>,
    /// The state last published; `None` until the first, so a state left by an earlier run is recognised.
    state: Option<AssistantState>,
    /// The session whose follow-up window was opened: its next transcript may continue the previous
    /// request ("what about tomorrow?"). Cleared when the conversation goes idle.
    follow_up: Option<String>,
    /// A message or call read back (or a name asked back), waiting for the user's answer.
    handoff: Option<Handoff>,
    /// The message announced last, for "reply …".
    incoming: Option<Incoming>,
    /// The site's camera is switched off (its retained `camera/enabled`).
    camera_off: bool,
}

/// All sites' conversations.
pub struct Conversation {
    config: BrainConfig,
    matcher: Box<dyn LocalMatcher>,
    new_id: IdSource,
    sites: BTreeMap<String, Site>,
    llm_online: bool,
    /// The tools online services answer; the local matcher calls no others.
    tools: ServedTools,
    /// Messages produced by the call in progress.
    out: Vec<Outbound>,
}

impl Conversation {
    pub fn new(config: BrainConfig, matcher: Box<dyn LocalMatcher>, new_id: IdSource) -> Conversation {
        let mut tools = ServedTools::default();
        tools.serve_own(messaging::OWN_TOOLS);
        // The brain decides itself whether a `look` can be answered at a site (a camera there, a vision
        // service anywhere) and says plainly why not, rather than leaving "what do you see" to the LLM.
        tools.serve_own(&[LOOK]);
        Conversation { config, matcher, new_id, sites: BTreeMap::new(), llm_online: false, tools, out: Vec::new() }
    }

    /// The earliest moment [`Conversation::on_deadline`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sites
            .values()
            .flat_map(|s| {
                [s.pending.as_ref().map(|p| p.deadline), s.playback.as_ref().map(|p| p.deadline), s.handoff.as_ref().map(|h| h.deadline)]
            })
            .flatten()
            .min()
    }

    /// Reacts to one event at `site`.
    pub fn on_event(&mut self, now: Instant, site: &str, inbound: Inbound) -> Vec<Outbound> {
        match inbound {
            Inbound::Transcript(t) => self.on_transcript(now, site, t),
            Inbound::ToolResult(r) => self.on_tool_result(now, site, r),
            Inbound::VisionSentence(s) => self.on_vision_sentence(now, site, s),
            Inbound::CameraEnabled(c) => self.site(site).camera_off = !c.enabled,
            Inbound::Llm(e) => self.on_llm_event(now, site, e),
            Inbound::NotHeard(n) => self.on_not_heard(now, site, n),
            Inbound::Wake(w) => self.set_state(site, AssistantState::Listening, Some(w.session_id)),
            Inbound::ListeningStarted(m) => {
                let s = self.site(site);
                s.playback = None;
                s.heard = None;
                self.set_state(site, AssistantState::Listening, Some(m.session_id));
            }
            Inbound::ListeningEnded(m) => self.on_listening_ended(now, site, m),
            Inbound::Played(p) => self.on_played(site, p),
            Inbound::LlmStatus(state) => {
                let online = state == ServiceState::Online;
                if online != self.llm_online {
                    info!(online, "LLM service status changed");
                }
                self.llm_online = online;
            }
            Inbound::ServiceStatus { service, state } => self.tools.on_status(site, &service, state),
            Inbound::ServiceInfo { service, capabilities } => self.tools.on_capabilities(site, &service, &capabilities),
            Inbound::State(s) => self.on_state_seen(site, s),
            Inbound::MessageResult(r) => self.on_handoff_result(now, site, &r.request_id, r.ok, r.reason.as_deref()),
            Inbound::CallResult(r) => self.on_handoff_result(now, site, &r.request_id, r.ok, r.reason.as_deref()),
            Inbound::IncomingMessage(m) => self.on_incoming_message(now, site, m),
        }
        std::mem::take(&mut self.out)
    }

    /// Ends every wait whose deadline has passed by `now`.
    pub fn on_deadline(&mut self, now: Instant) -> Vec<Outbound> {
        let sites: Vec<String> = self.sites.keys().cloned().collect();
        for site in sites {
            if self.site(&site).playback.take_if(|p| p.deadline <= now).is_some() {
                self.set_state(&site, AssistantState::Idle, None);
            }
            if let Some(h) = self.site(&site).handoff.take_if(|h| h.deadline <= now) {
                info!(site = %site, session = %h.session_id, "no answer to the read-back: nothing sent");
            }
            let Some(Pending { mut turn, waiting, .. }) = self.site(&site).pending.take_if(|p| p.deadline <= now) else {
                continue;
            };
            warn!(site = %site, session = %turn.session_id, ?waiting, "timed out");
            match (&waiting, turn.spoken.is_empty()) {
                (Waiting::Llm { answering: true, .. }, false) => {
                    self.close_utterance(&site, &mut turn);
                    self.finish(now, &site, turn);
                }
                (Waiting::Transcript, _) => self.answer(now, &site, turn, phrases::ASR_DOWN, ReplySource::Fallback),
                (Waiting::Look { streamed, .. }, _) => self.on_look_timeout(now, &site, turn, streamed),
                (Waiting::Handoff { kind, contact, .. }, _) => {
                    let sentence = kind.no_handler(contact);
                    self.answer(now, &site, turn, &sentence, ReplySource::Fallback)
                }
                _ => self.answer(now, &site, turn, phrases::TOO_SLOW, ReplySource::Fallback),
            }
        }
        std::mem::take(&mut self.out)
    }

    fn site(&mut self, site: &str) -> &mut Site {
        self.sites.entry(site.to_string()).or_default()
    }

    fn next_id(&mut self) -> String {
        (self.new_id)()
    }

    fn emit(&mut self, site: &str, message: OutMessage) {
        self.out.push(Outbound { site: site.to_string(), message });
    }

    fn on_transcript(&mut self, now: Instant, site: &str, t: Transcript) {
        let text = t.text.trim().to_string();
        info!(site, session = %t.session_id, text = %text, "transcript");
        let keep = Duration::from_secs(self.config.memory_s);
        let s = self.site(site);
        s.heard = Some(t.session_id.clone());
        let follow_up = s.follow_up.as_deref() == Some(t.session_id.as_str());
        if let Some(old) = s.pending.take() {
            // A new request supersedes an unfinished one. No `audio/stop` here: the broker does not order
            // it against the new turn's sentences, and TTS already drops a site's queue when a sentence of
            // another session arrives; late answers to the old turn no longer match and are ignored.
            debug!(site, old = %old.turn.session_id, "superseded");
        }
        s.playback = None;
        s.memory.expire(now, keep);
        self.set_state(site, AssistantState::Thinking, Some(t.session_id.clone()));
        let utterance_id = self.next_id();
        let turn = Turn::new(t.session_id, text.clone(), t.source, now, utterance_id);
        if text.is_empty() {
            return self.answer(now, site, turn, phrases::NOT_CAUGHT, ReplySource::Fallback);
        }
        // The answer to a read-back ("yes") or a question back ("Alice") is this turn; anything else
        // cancels the message and is a new request.
        let Some(mut turn) = self.on_handoff_answer(now, site, turn) else { return };
        let context = LocalContext { site, follow_up, tools: &self.tools };
        match self.matcher.match_local(&text, &context) {
            Some(LocalMatch::StopPlayback) => {
                self.emit(site, OutMessage::StopPlayback(StopPlayback { reason: "user".into() }));
                self.finish(now, site, turn);
            }
            Some(LocalMatch::Say(sentence)) => self.answer(now, site, turn, &sentence, ReplySource::Intent),
            Some(LocalMatch::Tool { tool, arguments }) => self.call_tool(now, site, turn, tool, arguments),
            None if self.config.use_llm && self.llm_online => {
                let request_id = self.next_id();
                let max = self.config.memory_messages;
                let messages = self.site(site).memory.request(&text, max);
                turn.reply_source = ReplySource::Llm;
                let request = LlmRequest { request_id: request_id.clone(), session_id: turn.session_id.clone(), messages };
                self.emit(site, OutMessage::AskLlm(request));
                let deadline = now + Duration::from_millis(self.config.llm_first_event_timeout_ms);
                self.site(site).pending = Some(Pending { turn, waiting: Waiting::Llm { request_id, answering: false }, deadline });
            }
            None => {
                if self.config.use_llm {
                    warn!(site, "no LLM service online: start `hearth-llm run` (or `hearth up`) and `hearth models pull qwen3-4b-instruct`");
                }
                self.answer(now, site, turn, phrases::NO_LLM, ReplySource::Fallback)
            }
        }
    }

    fn call_tool(&mut self, now: Instant, site: &str, mut turn: Turn, tool: String, arguments: Value) {
        if messaging::OWN_TOOLS.contains(&tool.as_str()) {
            return self.on_handoff_tool(now, site, turn, tool, arguments);
        }
        if tool == LOOK {
            return self.on_look_tool(now, site, turn, arguments);
        }
        let call_id = self.next_id();
        info!(site, session = %turn.session_id, %tool, "tool call");
        let call = ToolCall { call_id: call_id.clone(), session_id: Some(turn.session_id.clone()), tool: tool.clone(), arguments: arguments.clone() };
        self.emit(site, OutMessage::CallTool(call));
        turn.tool = Some((tool, arguments));
        let deadline = now + Duration::from_millis(self.config.tool_timeout_ms);
        self.site(site).pending = Some(Pending { turn, waiting: Waiting::Tool { call_id }, deadline });
    }

    /// The pending turn at `site`, taken out if it waits for what `pred` accepts.
    fn take_pending_if(&mut self, site: &str, pred: impl Fn(&Waiting) -> bool) -> Option<Pending> {
        self.sites.get_mut(site)?.pending.take_if(|p| pred(&p.waiting))
    }

    fn on_tool_result(&mut self, now: Instant, site: &str, r: ToolResult) {
        let ours = |w: &Waiting| match w {
            Waiting::Tool { call_id } | Waiting::Look { call_id, .. } => *call_id == r.call_id,
            _ => false,
        };
        let Some(Pending { mut turn, waiting, .. }) = self.take_pending_if(site, ours) else { return };
        if let Waiting::Look { streamed, .. } = waiting {
            return self.on_look_result(now, site, turn, streamed, r);
        }
        if turn.reply_source == ReplySource::Llm {
            turn.reply_source = ReplySource::Tool;
        }
        let source = turn.reply_source;
        self.answer(now, site, turn, &r.sentence, source);
    }

    fn on_llm_event(&mut self, now: Instant, site: &str, e: LlmEvent) {
        let ours = |w: &Waiting| matches!(w, Waiting::Llm { request_id, .. } if *request_id == e.request_id);
        let Some(Pending { mut turn, .. }) = self.take_pending_if(site, ours) else { return };
        match e.event {
            LlmEventKind::Sentence { text } => {
                self.speak(site, &mut turn, &text, false);
                let deadline = now + Duration::from_millis(self.config.llm_idle_timeout_ms);
                let waiting = Waiting::Llm { request_id: e.request_id, answering: true };
                self.site(site).pending = Some(Pending { turn, waiting, deadline });
            }
            // Anything said before the call stays; the tool's sentence completes the reply.
            LlmEventKind::ToolCall { tool, arguments } => self.call_tool(now, site, turn, tool, arguments),
            LlmEventKind::Done { prompt_tokens, generated_tokens, elapsed_ms } => {
                debug!(site, prompt_tokens, generated_tokens, elapsed_ms, "llm done");
                self.end_llm_answer(now, site, turn, phrases::DONT_KNOW);
            }
            LlmEventKind::Error { message } => {
                warn!(site, %message, "llm error");
                self.end_llm_answer(now, site, turn, phrases::LLM_FAILED);
            }
        }
    }

    /// The LLM has nothing more to say: close what it said, or say `if_silent` when it said nothing.
    fn end_llm_answer(&mut self, now: Instant, site: &str, mut turn: Turn, if_silent: &str) {
        if turn.spoken.is_empty() {
            self.answer(now, site, turn, if_silent, ReplySource::Fallback);
        } else {
            self.close_utterance(site, &mut turn);
            self.finish(now, site, turn);
        }
    }

    /// A capture with speech ended: its transcript is due. Should speech recognition be gone (crashed,
    /// hung, its host down), the deadline turns the silence into a spoken reason instead of a turn that
    /// never ends.
    fn on_listening_ended(&mut self, now: Instant, site: &str, m: ListeningEnded) {
        if !matches!(m.reason, EndReason::Silence | EndReason::MaxLength) {
            // Silence in the window after a read-back: nothing is sent.
            self.cancel_handoff_of(site, &m.session_id);
            return self.set_state(site, AssistantState::Idle, Some(m.session_id));
        }
        // The broker orders messages within a topic, not across topics: the transcript may have come first,
        // and its turn (in progress or already answered) must not be replaced.
        if self.site(site).heard.as_deref() == Some(m.session_id.as_str()) {
            return;
        }
        self.set_state(site, AssistantState::Thinking, Some(m.session_id.clone()));
        let utterance_id = self.next_id();
        let turn = Turn::without_request(m.session_id, now, utterance_id);
        let deadline = now + Duration::from_millis(self.config.transcript_timeout_ms);
        self.site(site).pending = Some(Pending { turn, waiting: Waiting::Transcript, deadline });
    }

    fn on_not_heard(&mut self, now: Instant, site: &str, n: NotHeard) {
        // This is the answer the capture was waiting for.
        self.take_pending_if(site, |w| matches!(w, Waiting::Transcript));
        // An answer to a read-back that could not be understood is no yes.
        self.cancel_handoff_of(site, &n.session_id);
        self.site(site).heard = Some(n.session_id.clone());
        let sentence = match n.reason {
            NotHeardReason::Unavailable => phrases::ASR_DOWN,
            _ => phrases::NOT_CAUGHT,
        };
        let utterance_id = self.next_id();
        let turn = Turn::without_request(n.session_id, now, utterance_id);
        self.answer(now, site, turn, sentence, ReplySource::Fallback);
    }

    fn on_played(&mut self, site: &str, p: Played) {
        let Some(playback) = self.site(site).playback.take_if(|pb| pb.utterance_id == p.utterance_id) else {
            return;
        };
        if playback.follow_up && !p.interrupted && self.config.follow_up_ms > 0 {
            let start = StartListening {
                session_id: Some(playback.session_id),
                reason: ListenReason::FollowUp,
                no_speech_timeout_ms: Some(self.config.follow_up_ms),
            };
            self.site(site).follow_up = start.session_id.clone();
            self.emit(site, OutMessage::Listen(start));
        } else {
            self.set_state(site, AssistantState::Idle, None);
        }
    }

    /// A state seen on the bus before this run published one for the site was left by an earlier run
    /// (which may have died mid-reply): anything but idle is reset, so Home Assistant does not show
    /// "speaking" and the wake word is not muted until the next turn. Later ones are this run's own.
    fn on_state_seen(&mut self, site: &str, seen: StateChanged) {
        if self.site(site).state.is_some() {
            return;
        }
        if seen.state == AssistantState::Idle {
            self.site(site).state = Some(AssistantState::Idle);
        } else {
            info!(site, stale = ?seen.state, "resetting the state left by an earlier run");
            self.set_state(site, AssistantState::Idle, None);
        }
    }

    /// Speaks `sentence` as the last of the reply and ends the turn.
    fn answer(&mut self, now: Instant, site: &str, mut turn: Turn, sentence: &str, source: ReplySource) {
        turn.reply_source = source;
        self.speak(site, &mut turn, sentence, true);
        self.finish(now, site, turn);
    }

    fn speak(&mut self, site: &str, turn: &mut Turn, text: &str, last: bool) {
        let say = Say {
            utterance_id: turn.utterance_id.clone(),
            session_id: Some(turn.session_id.clone()),
            seq: turn.seq,
            text: text.to_string(),
            last,
        };
        turn.seq += 1;
        turn.spoken.push(text.to_string());
        self.emit(site, OutMessage::Say(say));
    }

    /// Ends an utterance whose sentences went out with `last = false`: an empty closing sentence.
    fn close_utterance(&mut self, site: &str, turn: &mut Turn) {
        let say = Say {
            utterance_id: turn.utterance_id.clone(),
            session_id: Some(turn.session_id.clone()),
            seq: turn.seq,
            text: String::new(),
            last: true,
        };
        turn.seq += 1;
        self.emit(site, OutMessage::Say(say));
    }

    /// Publishes the reply summary, remembers the turn and waits for playback (then a follow-up).
    fn finish(&mut self, now: Instant, site: &str, turn: Turn) {
        let text = turn.spoken.join(" ");
        let elapsed_ms = now.saturating_duration_since(turn.started).as_millis() as u64;
        info!(site, session = %turn.session_id, source = ?turn.reply_source, elapsed_ms, reply = %text, "reply");
        let reply = Reply {
            session_id: turn.session_id.clone(),
            request: turn.request.clone(),
            text: text.clone(),
            source: turn.reply_source,
            tool: turn.tool.as_ref().map(|(t, _)| t.clone()),
            elapsed_ms,
        };
        self.emit(site, OutMessage::Reply(reply));
        if !turn.request.is_empty() {
            let remembered = match &turn.tool {
                Some((tool, arguments)) => memory::tool_message(tool, arguments, &text),
                None => ChatMessage { role: Role::Assistant, content: text },
            };
            self.site(site).memory.record(now, &turn.request, remembered);
        }
        if turn.spoken.is_empty() {
            return self.set_state(site, AssistantState::Idle, None);
        }
        let playback = Playback {
            utterance_id: turn.utterance_id,
            session_id: turn.session_id.clone(),
            // Typed requests have nobody at the microphone to follow up.
            follow_up: turn.source == TranscriptSource::Asr,
            deadline: now + Duration::from_millis(self.config.playback_timeout_ms),
        };
        self.site(site).playback = Some(playback);
        self.set_state(site, AssistantState::Speaking, Some(turn.session_id));
    }

    /// Publishes the state when it changed.
    fn set_state(&mut self, site: &str, state: AssistantState, session_id: Option<String>) {
        if state == AssistantState::Idle {
            // The conversation ended: no more follow-ups to its last request.
            self.site(site).follow_up = None;
            self.matcher.end_conversation(site);
        }
        if self.site(site).state == Some(state) {
            return;
        }
        self.site(site).state = Some(state);
        self.emit(site, OutMessage::State { state, session_id });
    }
}
