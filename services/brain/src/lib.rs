//! The brain: owns each site's conversation. A transcript first meets the local matcher (time, date,
//! timers, stop), which answers through tool calls at once; anything else goes to the LLM service, whose
//! sentences are spoken as they arrive and whose tool calls are answered by the tool services' finished
//! sentences (no second LLM pass). Every wait has a timeout that ends in a short, honest sentence. After a
//! spoken reply has played, the brain opens a follow-up window. At start it resets any assistant state a
//! previous run left behind.
//!
//! The conversation is a plain state machine ([`Conversation`]); this file only decodes bus messages,
//! hands them to it with the time, and publishes what it returns.
//!
//! # Layout
//! - [`conversation`]: the state machine: turns, races, deadlines, follow-ups.
//! - [`events`]: what comes in from the bus ([`Inbound`]) and goes out ([`Outbound`]).
//! - [`turn`]: the turn in progress, what it waits for, the reply being played.
//! - [`local`]: the seam for answering without the LLM ([`LocalMatcher`]).
//! - [`intent`]: today's local matcher (time, date, timers, stop).
//! - [`memory`]: per-site conversation memory.
//! - [`config`]: the `[brain]` table.

pub mod config;
pub mod conversation;
pub mod events;
pub mod intent;
pub mod local;
pub mod memory;
pub mod turn;

use std::time::Instant;

use hearth_bus::asr::{NotHeard, Transcript};
use hearth_bus::audio::Played;
use hearth_bus::brain::StateChanged;
use hearth_bus::ids::{new_id, now_ms};
use hearth_bus::listen::{ListeningEnded, ListeningStarted};
use hearth_bus::llm::LlmEvent;
use hearth_bus::service::{status_topic, ServiceState};
use hearth_bus::tool::ToolResult;
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusError, Shutdown};
use thiserror::Error;
use tracing::{info, warn};

pub use config::BrainConfig;
pub use conversation::{Conversation, IdSource};
pub use events::{Inbound, OutMessage, Outbound};
pub use local::{LocalMatch, LocalMatcher};

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
    // The retained states of every site: those a previous run left behind are reset to idle.
    client.subscribe_all_sites::<StateChanged>().await?;
    client.subscribe(status_topic("+", events::LLM_SERVICE)).await?;
    client.set_capabilities(vec!["intents:time,date,timers,stop".into(), format!("llm:{}", config.use_llm)]).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(use_llm = config.use_llm, follow_up_ms = config.follow_up_ms, "brain ready");
    let mut conversation = Conversation::new(config, Box::new(intent::BuiltinIntents), Box::new(new_id));
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
    };
    if let Err(error) = result {
        warn!(topic = message.suffix(), %error, "publish failed");
    }
}
