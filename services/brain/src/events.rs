//! What reaches the brain from the bus and what it sends back, as plain values: the service shell decodes
//! envelopes into [`Inbound`] and publishes each [`Outbound`]; the conversation never touches the bus.

use hearth_bus::asr::{NotHeard, Transcript};
use hearth_bus::audio::{Played, StopPlayback};
use hearth_bus::brain::{AssistantState, Reply, StateChanged};
use hearth_bus::listen::{ListeningEnded, ListeningStarted, StartListening};
use hearth_bus::llm::{LlmEvent, LlmRequest};
use hearth_bus::message::{CallResult, IncomingMessage, MessageResult, SendMessage, StartCall};
use hearth_bus::service::{service_of, ServiceInfo, ServiceState, ServiceStatus};
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::tts::Say;
use hearth_bus::vision::{CameraEnabled, VisionSentence};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Envelope, Message};

/// The name the LLM service's status is published under.
pub const LLM_SERVICE: &str = "llm";

/// An event at one site that the conversation reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Transcript(Transcript),
    NotHeard(NotHeard),
    ToolResult(ToolResult),
    /// One sentence of a `look` answer, as soon as the vision model said it.
    VisionSentence(VisionSentence),
    /// The site's camera switch (retained): switched off, "what do you see" is answered "The camera is off.".
    CameraEnabled(CameraEnabled),
    Llm(LlmEvent),
    Wake(WakeDetected),
    ListeningStarted(ListeningStarted),
    ListeningEnded(ListeningEnded),
    Played(Played),
    /// The LLM service's retained status.
    LlmStatus(ServiceState),
    /// Another service's retained status (the tool services' decide which tools can be called).
    ServiceStatus { service: String, state: ServiceState },
    /// A service's retained capabilities (`tool:<name>` for each tool it answers).
    ServiceInfo { service: String, capabilities: Vec<String> },
    /// The assistant state on the bus: at start, the retained one a previous run left behind; later, the
    /// brain's own publications coming back.
    State(StateChanged),
    /// A message handler's answer to `message/send`.
    MessageResult(MessageResult),
    /// A call handler's answer to `call/start`.
    CallResult(CallResult),
    /// A message that arrived, to announce.
    IncomingMessage(IncomingMessage),
}

impl Inbound {
    /// The site and event an envelope carries; `None` for topics the brain does not handle and for
    /// payloads that do not decode (the bus logs and counts those).
    pub fn decode(envelope: &Envelope) -> Option<(String, Inbound)> {
        let site = envelope.site()?.to_owned();
        let inbound = if let Some(m) = envelope.decode::<Transcript>() {
            Inbound::Transcript(m)
        } else if let Some(m) = envelope.decode::<ToolResult>() {
            Inbound::ToolResult(m)
        } else if let Some(m) = envelope.decode::<VisionSentence>() {
            Inbound::VisionSentence(m)
        } else if let Some(m) = envelope.decode::<CameraEnabled>() {
            Inbound::CameraEnabled(m)
        } else if let Some(m) = envelope.decode::<LlmEvent>() {
            Inbound::Llm(m)
        } else if let Some(m) = envelope.decode::<NotHeard>() {
            Inbound::NotHeard(m)
        } else if let Some(m) = envelope.decode::<WakeDetected>() {
            Inbound::Wake(m)
        } else if let Some(m) = envelope.decode::<ListeningStarted>() {
            Inbound::ListeningStarted(m)
        } else if let Some(m) = envelope.decode::<ListeningEnded>() {
            Inbound::ListeningEnded(m)
        } else if let Some(m) = envelope.decode::<Played>() {
            Inbound::Played(m)
        } else if let Some(m) = envelope.decode::<StateChanged>() {
            Inbound::State(m)
        } else if let Some(m) = envelope.decode::<MessageResult>() {
            Inbound::MessageResult(m)
        } else if let Some(m) = envelope.decode::<CallResult>() {
            Inbound::CallResult(m)
        } else if let Some(m) = envelope.decode::<IncomingMessage>() {
            Inbound::IncomingMessage(m)
        } else if envelope.is::<ServiceStatus>() {
            let service = envelope.suffix().and_then(|s| service_of(s, "status"))?.to_string();
            let state = envelope.decode::<ServiceStatus>()?.state;
            if service == LLM_SERVICE {
                Inbound::LlmStatus(state)
            } else {
                Inbound::ServiceStatus { service, state }
            }
        } else if envelope.is::<ServiceInfo>() {
            let service = envelope.suffix().and_then(|s| service_of(s, "info"))?.to_string();
            Inbound::ServiceInfo { service, capabilities: envelope.decode::<ServiceInfo>()?.capabilities }
        } else {
            return None;
        };
        Some((site, inbound))
    }
}

/// A message for the bus at one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub site: String,
    pub message: OutMessage,
}

/// What the brain publishes.
#[derive(Debug, Clone, PartialEq)]
pub enum OutMessage {
    /// The assistant's state changed; the shell stamps the wall-clock time when it publishes.
    State { state: AssistantState, session_id: Option<String> },
    Say(Say),
    Reply(Reply),
    AskLlm(LlmRequest),
    /// Goes to the tool's own topic.
    CallTool(ToolCall),
    StopPlayback(StopPlayback),
    Listen(StartListening),
    /// A message handed off to whoever holds the keys.
    SendMessage(SendMessage),
    /// A call handed off.
    StartCall(StartCall),
}

impl OutMessage {
    /// The topic suffix it goes to (for logs).
    pub fn suffix(&self) -> &'static str {
        match self {
            OutMessage::State { .. } => StateChanged::SUFFIX,
            OutMessage::Say(_) => Say::SUFFIX,
            OutMessage::Reply(_) => Reply::SUFFIX,
            OutMessage::AskLlm(_) => LlmRequest::SUFFIX,
            OutMessage::CallTool(_) => ToolCall::SUFFIX,
            OutMessage::StopPlayback(_) => StopPlayback::SUFFIX,
            OutMessage::Listen(_) => StartListening::SUFFIX,
            OutMessage::SendMessage(_) => SendMessage::SUFFIX,
            OutMessage::StartCall(_) => StartCall::SUFFIX,
        }
    }
}
