//! The brain's conversation driven by hand: events at explicit instants, ids counted, and what it
//! publishes sorted by kind.

use std::time::{Duration, Instant};

use hearth_brain::{BrainConfig, Conversation, Inbound, LocalMatcher, OutMessage, Outbound, TemplateMatcher};
use hearth_bus::asr::{NotHeard, NotHeardReason, Transcript, TranscriptSource};
use hearth_bus::audio::{Played, StopPlayback};
use hearth_bus::brain::{AssistantState, Reply, StateChanged};
use hearth_bus::listen::{EndReason, ListenReason, ListeningEnded, ListeningStarted, StartListening};
use hearth_bus::llm::{LlmEvent, LlmEventKind, LlmRequest};
use hearth_bus::message::{SendMessage, StartCall};
use hearth_bus::service::ServiceState;
use hearth_bus::tool::{names, ToolCall, ToolResult};
use hearth_bus::tts::Say;
use hearth_bus::wake::WakeDetected;
use serde_json::Value;

pub const SITE: &str = "kitchen";

/// The tools the tools and timers services serve on a usual install (no camera, music or messages).
pub const TOOLS: &[&str] = &[names::GET_TIME, names::GET_DATE, names::GET_WEATHER, names::WIKIPEDIA, names::SET_VOLUME];
pub const TIMERS: &[&str] = &[names::SET_TIMER, names::CANCEL_TIMER, names::EXTEND_TIMER, names::TIMER_STATUS];

/// What the built-in templates ask back for a timer without a length.
pub const HOW_LONG: &str = "How long should the timer be?";

/// The brain's own matcher over the built-in templates.
pub fn builtin_matcher() -> TemplateMatcher {
    TemplateMatcher::new(hearth_intents::Intents::builtin().expect("the built-in templates compile"))
}

/// A conversation and the instant its test starts; every event is given at a millisecond offset from it.
pub struct Brain {
    pub conversation: Conversation,
    pub t0: Instant,
}

impl Brain {
    /// A brain with the built-in templates and the tools and timers services online.
    pub fn new(config: BrainConfig) -> Brain {
        let mut brain = Brain::with_matcher(config, Box::new(builtin_matcher()));
        brain.serve("tools", TOOLS);
        brain.serve("timers", TIMERS);
        brain
    }

    /// A service at site "hub" comes online announcing `tools`.
    pub fn serve(&mut self, service: &str, tools: &[&str]) {
        let capabilities = tools.iter().map(|t| format!("tool:{t}")).collect();
        let info = Inbound::ServiceInfo { service: service.into(), capabilities };
        assert!(self.event_at(0, "hub", info).is_empty());
        let status = Inbound::ServiceStatus { service: service.into(), state: ServiceState::Online };
        assert!(self.event_at(0, "hub", status).is_empty());
    }

    pub fn with_matcher(config: BrainConfig, matcher: Box<dyn LocalMatcher>) -> Brain {
        let mut n = 0;
        let ids = Box::new(move || {
            n += 1;
            format!("id-{n}")
        });
        Brain { conversation: Conversation::new(config, matcher, ids), t0: Instant::now() }
    }

    /// A brain that sees the LLM service online.
    pub fn with_llm(config: BrainConfig) -> Brain {
        let mut brain = Brain::new(config);
        brain.event(0, Inbound::LlmStatus(ServiceState::Online));
        brain
    }

    pub fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// `inbound` at [`SITE`], `ms` after the start.
    pub fn event(&mut self, ms: u64, inbound: Inbound) -> Out {
        self.event_at(ms, SITE, inbound)
    }

    pub fn event_at(&mut self, ms: u64, site: &str, inbound: Inbound) -> Out {
        Out(self.conversation.on_event(self.at(ms), site, inbound))
    }

    pub fn deadline(&mut self, ms: u64) -> Out {
        Out(self.conversation.on_deadline(self.at(ms)))
    }

    /// Milliseconds from the start to the next deadline.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.conversation.next_deadline().map(|d| d.duration_since(self.t0).as_millis() as u64)
    }
}

/// What one call published.
#[derive(Debug)]
pub struct Out(pub Vec<Outbound>);

impl Out {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn of<T: Clone>(&self, pick: impl Fn(&OutMessage) -> Option<&T>) -> Vec<T> {
        self.0.iter().filter_map(|o| pick(&o.message)).cloned().collect()
    }

    pub fn says(&self) -> Vec<Say> {
        self.of(|m| if let OutMessage::Say(s) = m { Some(s) } else { None })
    }

    pub fn texts(&self) -> Vec<String> {
        self.says().into_iter().map(|s| s.text).collect()
    }

    pub fn replies(&self) -> Vec<Reply> {
        self.of(|m| if let OutMessage::Reply(r) = m { Some(r) } else { None })
    }

    /// The one reply this call published.
    pub fn reply(&self) -> Reply {
        let replies = self.replies();
        assert_eq!(replies.len(), 1, "{self:?}");
        replies.into_iter().next().unwrap()
    }

    pub fn states(&self) -> Vec<AssistantState> {
        self.0
            .iter()
            .filter_map(|o| if let OutMessage::State { state, .. } = &o.message { Some(*state) } else { None })
            .collect()
    }

    pub fn llm_requests(&self) -> Vec<LlmRequest> {
        self.of(|m| if let OutMessage::AskLlm(r) = m { Some(r) } else { None })
    }

    pub fn tool_calls(&self) -> Vec<ToolCall> {
        self.of(|m| if let OutMessage::CallTool(c) = m { Some(c) } else { None })
    }

    pub fn listens(&self) -> Vec<StartListening> {
        self.of(|m| if let OutMessage::Listen(l) = m { Some(l) } else { None })
    }

    pub fn messages(&self) -> Vec<SendMessage> {
        self.of(|m| if let OutMessage::SendMessage(s) = m { Some(s) } else { None })
    }

    pub fn calls(&self) -> Vec<StartCall> {
        self.of(|m| if let OutMessage::StartCall(c) = m { Some(c) } else { None })
    }

    pub fn stops(&self) -> Vec<StopPlayback> {
        self.of(|m| if let OutMessage::StopPlayback(s) = m { Some(s) } else { None })
    }

    /// Every site that got a message.
    pub fn sites(&self) -> Vec<&str> {
        self.0.iter().map(|o| o.site.as_str()).collect()
    }
}

pub fn spoken(session: &str, text: &str) -> Inbound {
    transcript(session, text, TranscriptSource::Asr)
}

pub fn typed(session: &str, text: &str) -> Inbound {
    transcript(session, text, TranscriptSource::Typed)
}

fn transcript(session: &str, text: &str, source: TranscriptSource) -> Inbound {
    Inbound::Transcript(Transcript { session_id: session.into(), text: text.into(), source, audio_ms: 1000, processing_ms: 10 })
}

pub fn wake(session: &str) -> Inbound {
    Inbound::Wake(WakeDetected { session_id: session.into(), word: "hey_jarvis".into(), score: 0.9, timestamp_ms: 0 })
}

pub fn started(session: &str) -> Inbound {
    Inbound::ListeningStarted(ListeningStarted { session_id: session.into(), reason: ListenReason::Wake, timestamp_ms: 0 })
}

pub fn ended(session: &str, reason: EndReason) -> Inbound {
    Inbound::ListeningEnded(ListeningEnded { session_id: session.into(), reason, speech_ms: 900, duration_ms: 1500, timestamp_ms: 0 })
}

pub fn not_heard(session: &str, reason: NotHeardReason) -> Inbound {
    Inbound::NotHeard(NotHeard { session_id: session.into(), reason, detail: None })
}

pub fn played(say: &Say, interrupted: bool) -> Inbound {
    Inbound::Played(Played { utterance_id: say.utterance_id.clone(), session_id: say.session_id.clone(), duration_ms: 2000, interrupted })
}

pub fn llm(request: &LlmRequest, event: LlmEventKind) -> Inbound {
    Inbound::Llm(LlmEvent { request_id: request.request_id.clone(), session_id: request.session_id.clone(), event })
}

pub fn sentence(request: &LlmRequest, text: &str) -> Inbound {
    llm(request, LlmEventKind::Sentence { text: text.into() })
}

pub fn done(request: &LlmRequest) -> Inbound {
    llm(request, LlmEventKind::Done { prompt_tokens: 10, generated_tokens: 5, elapsed_ms: 1 })
}

pub fn result(call: &ToolCall, sentence: &str, data: Option<Value>) -> Inbound {
    Inbound::ToolResult(ToolResult {
        call_id: call.call_id.clone(),
        session_id: call.session_id.clone(),
        tool: call.tool.clone(),
        ok: true,
        sentence: sentence.into(),
        data,
    })
}

pub fn state(state: AssistantState) -> Inbound {
    Inbound::State(StateChanged { state, session_id: Some("old".into()), timestamp_ms: 1 })
}
