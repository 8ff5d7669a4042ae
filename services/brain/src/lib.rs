//! The brain: owns each site's conversation. A transcript first meets the local matcher: hearth-intents'
//! sentence templates (time, date, timers, weather, Wikipedia, volume, stop, messages and calls, "what do you
//! see", and the music intents once a service serves their tools), built-in plus the user's own folder, compiled at
//! start. A match is answered through its tool call at once, and "what about tomorrow?" in the follow-up
//! window continues the site's previous local request. A tool that no online service announces
//! (`tool:<name>` in its retained info) is never called locally. Anything else goes to the LLM service, whose
//! sentences are spoken as they arrive and whose tool calls are answered by the tool services' finished
//! sentences (no second LLM pass). Every wait has a timeout that ends in a short, honest sentence. After a
//! spoken reply has played, the brain opens a follow-up window. At start it resets any assistant state a
//! previous run left behind. Messages and calls are the brain's own tools: it finds the contact in
//! `[brain.messages]`, reads the message back, and on a yes hands it off on `message/send` / `call/start`
//! to whoever holds the keys, saying "Sent." only on their acknowledgement; incoming messages are announced.
//! "What do you see?" (the `look` tool, from an intent or the LLM) goes to the vision service where the
//! site has a camera online, and its sentences are spoken as they arrive; otherwise a plain sentence says why not.
//!
//! The conversation is a plain state machine ([`Conversation`]); this file only decodes bus messages,
//! hands them to it with the time, and publishes what it returns.
//!
//! # Layout
//! - [`conversation`]: the state machine: turns, races, deadlines, follow-ups; its `messaging` part reads
//!   messages back, hands them off and announces incoming ones; its `looking` part routes `look` calls to
//!   the vision service and speaks its sentences as they arrive.
//! - [`contacts`]: the `[brain.messages]` contact book and how a heard name finds a contact.
//! - [`events`]: what comes in from the bus ([`Inbound`]) and goes out ([`Outbound`]).
//! - [`turn`]: the turn in progress, what it waits for, the reply being played.
//! - [`local`]: the seam for answering without the LLM ([`LocalMatcher`]).
//! - [`templates`]: the local matcher over hearth-intents ([`TemplateMatcher`]).
//! - [`served`]: which tools online services answer ([`ServedTools`]).
//! - [`memory`]: per-site conversation memory.
//! - [`config`]: the `[brain]` table.

pub mod config;
pub mod contacts;
pub mod conversation;
pub mod events;
pub mod local;
pub mod memory;
pub mod served;
pub mod templates;
pub mod turn;

use std::time::Instant;

use hearth_bus::asr::{NotHeard, Transcript};
use hearth_bus::audio::Played;
use hearth_bus::brain::StateChanged;
use hearth_bus::ids::{new_id, now_ms};
use hearth_bus::listen::{ListeningEnded, ListeningStarted};
use hearth_bus::llm::LlmEvent;
use hearth_bus::message::{CallResult, IncomingMessage, MessageResult};
use hearth_bus::service::{info_topic, status_topic, ServiceState};
use hearth_bus::tool::ToolResult;
use hearth_bus::vision::{CameraEnabled, VisionSentence};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusError, Shutdown};
use thiserror::Error;
use tracing::{info, warn};

pub use config::BrainConfig;
pub use contacts::{Contact, MessagesConfig};
pub use conversation::{Conversation, HandoffKind, IdSource};
pub use events::{Inbound, OutMessage, Outbound};
pub use local::{LocalContext, LocalMatch, LocalMatcher};
pub use served::ServedTools;
pub use templates::TemplateMatcher;

#[derive(Debug, Error)]
pub enum BrainError {
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A sentence template file does not load; the message names its file, line and problem.
    #[error("brain intents: {0}")]
    Intents(#[from] hearth_intents::IntentsError),
}

/// Sentences the brain speaks itself.
pub mod phrases {
    pub const NOT_CAUGHT: &str = "Sorry, I didn't catch that.";
    pub const ASR_DOWN: &str = "Sorry, I can't understand speech right now.";
    pub const DONT_KNOW: &str = "Sorry, I don't know.";
    pub const TOO_SLOW: &str = "Sorry, that took too long. Please try again.";
    pub const LLM_FAILED: &str = "Sorry, I can't answer that right now.";
    pub const NO_LLM: &str = "Sorry, I can't answer that right now: no language model is running.";
    /// The message handler acknowledged.
    pub const SENT: &str = "Sent.";
    pub const NOT_SENT: &str = "Okay, I won't send it.";
    pub const NOT_CALLED: &str = "Okay, I won't call.";
    pub const NO_MESSAGE_SERVICE: &str = "I couldn't send it: no message service answered.";
    pub const NO_CONTACTS: &str = "I can't send messages or make calls yet: no contacts are set up.";
    pub const NO_CONTACT_NAME: &str = "I didn't catch who it is for.";
    pub const NO_MESSAGE_TEXT: &str = "I didn't catch what the message should say.";
    pub const NOTHING_TO_REPLY: &str = "There is no message to reply to.";
    /// "What do you see?" with the camera switched off (by the user: it stays off until they switch it on).
    pub const CAMERA_OFF: &str = "The camera is off.";
    pub const NO_CAMERA: &str = "I can't see anything here: this room has no camera.";
    pub const NO_VISION: &str = "I can't see anything right now: no vision service is running.";
    pub const LOOK_TOO_SLOW: &str = "Sorry, looking took too long. Please try again.";
}

/// Runs the brain until shutdown.
pub async fn run(config: BrainConfig, bus: Bus, shutdown: Shutdown) -> Result<(), BrainError> {
    // Before anything is announced: a malformed template file stops the start.
    let matcher = TemplateMatcher::load(config.intents_dir().as_deref())?;
    let Bus { client, mut inbox } = bus;
    client.subscribe_all_sites::<Transcript>().await?;
    client.subscribe_all_sites::<NotHeard>().await?;
    client.subscribe_all_sites::<ToolResult>().await?;
    client.subscribe_all_sites::<VisionSentence>().await?;
    client.subscribe_all_sites::<CameraEnabled>().await?;
    client.subscribe_all_sites::<LlmEvent>().await?;
    client.subscribe_all_sites::<WakeDetected>().await?;
    client.subscribe_all_sites::<ListeningStarted>().await?;
    client.subscribe_all_sites::<ListeningEnded>().await?;
    client.subscribe_all_sites::<Played>().await?;
    client.subscribe_all_sites::<MessageResult>().await?;
    client.subscribe_all_sites::<CallResult>().await?;
    client.subscribe_all_sites::<IncomingMessage>().await?;
    // The retained states of every site: those a previous run left behind are reset to idle.
    client.subscribe_all_sites::<StateChanged>().await?;
    // Every service's status and info: the LLM's decides whether to ask it, the tool services' which
    // tools the local intents may call.
    client.subscribe(status_topic("+", "+")).await?;
    client.subscribe(info_topic("+", "+")).await?;
    let intents = format!("intents:{}", matcher.intent_names().join(","));
    client.set_capabilities(vec![intents, format!("llm:{}", config.use_llm)]).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(
        use_llm = config.use_llm,
        follow_up_ms = config.follow_up_ms,
        intents = matcher.intent_names().len(),
        contacts = config.messages.contacts.len(),
        "brain ready"
    );
    let mut conversation = Conversation::new(config, Box::new(matcher), Box::new(new_id));
    loop {
        let deadline = conversation.next_deadline();
        let out = tokio::select! {
            _ = shutdown.wait() => break,
            _ = sleep_until(deadline) => conversation.on_deadline(Instant::now()),
            envelope = inbox.recv() => match envelope {
                Some(envelope) => match Inbound::decode(&envelope) {
                    Some((site, inbound)) => conversation.on_event(Instant::now(), &site, inbound),
                    None => continue,
                },
                None => break,
            },
        };
        for message in out {
            publish(&client, message).await;
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

async fn publish(client: &BusClient, Outbound { site, message }: Outbound) {
    let site = site.as_str();
    let result = match &message {
        OutMessage::State { state, session_id } => {
            let m = StateChanged { state: *state, session_id: session_id.clone(), timestamp_ms: now_ms() };
            client.publish(site, &m).await
        }
        OutMessage::Say(m) => client.publish(site, m).await,
        OutMessage::Reply(m) => client.publish(site, m).await,
        OutMessage::AskLlm(m) => client.publish(site, m).await,
        OutMessage::CallTool(m) => client.publish_on(m.topic(site), m).await,
        OutMessage::StopPlayback(m) => client.publish(site, m).await,
        OutMessage::Listen(m) => client.publish(site, m).await,
        OutMessage::SendMessage(m) => client.publish(site, m).await,
        OutMessage::StartCall(m) => client.publish(site, m).await,
    };
    if let Err(error) = result {
        warn!(topic = message.suffix(), %error, "publish failed");
    }
}
