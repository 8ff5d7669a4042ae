//! The tools service: answers tool calls (`hearth/<site>/tool/call/<tool>`) with a finished sentence on
//! `hearth/<site>/tool/result`. The brain speaks that sentence as it is: no second LLM pass.
//!
//! # Layout
//! - [`clock`]: `get_time`, `get_date`.
//! - [`config`]: the `[tools]` table.

pub mod clock;
pub mod config;

use hearth_bus::service::ServiceState;
use hearth_bus::tool::{call_filter, names, ToolCall, ToolResult};
use hearth_bus::{Bus, BusClient, BusError, Shutdown};
use thiserror::Error;
use tracing::{info, warn};

pub use config::ToolsConfig;

#[derive(Debug, Error)]
pub enum ToolsError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// The tools this service answers.
const SERVED: &[&str] = &[names::GET_TIME, names::GET_DATE];

/// Serves tool calls until shutdown.
pub async fn run(config: ToolsConfig, bus: Bus, shutdown: Shutdown) -> Result<(), ToolsError> {
    let Bus { client, mut inbox } = bus;
    for tool in SERVED {
        client.subscribe(call_filter(tool)).await?;
    }
    client.set_capabilities(SERVED.iter().map(|t| format!("tool:{t}")).collect()).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(tools = ?SERVED, "tools ready");
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let (Some(site), Some(call)) = (envelope.site().map(str::to_owned), envelope.decode::<ToolCall>()) else {
                    continue;
                };
                let result = on_tool_call(&config, &call);
                publish_result(&client, &site, result).await;
            }
        }
    }
    Ok(())
}

fn on_tool_call(config: &ToolsConfig, call: &ToolCall) -> ToolResult {
    let sentence = match call.tool.as_str() {
        names::GET_TIME => Ok(clock::time_sentence(&config.clock())),
        names::GET_DATE => Ok(clock::date_sentence(&config.clock())),
        other => Err(format!("I don't know how to do {other}.")),
    };
    let ok = sentence.is_ok();
    ToolResult {
        call_id: call.call_id.clone(),
        session_id: call.session_id.clone(),
        tool: call.tool.clone(),
        ok,
        sentence: sentence.unwrap_or_else(|e| e),
        data: None,
    }
}

async fn publish_result(client: &BusClient, site: &str, result: ToolResult) {
    if let Err(error) = client.publish(site, &result).await {
        warn!(tool = %result.tool, %error, "could not publish tool result");
    }
}
