//! The tools service: answers tool calls (`hearth/<site>/tool/call/<tool>`) with a finished sentence on
//! `hearth/<site>/tool/result`. The brain speaks that sentence as it is: no second LLM pass.
//!
//! Each call is served on its own task, so a slow weather lookup never delays `get_time`. Calls that
//! need the internet have one deadline (`[tools] timeout_ms`) and always answer: with the result, or
//! with a sentence saying what went wrong.
//!
//! # Layout
//! - [`clock`]: `get_time` (here or in a named place), `get_date`.
//! - [`weather`]: `get_weather` through Open-Meteo.
//! - [`outlook`]: the answers to "will it rain?", "will it snow?", "how cold is it?".
//! - [`volume`]: `set_volume`, through the audio service's `audio/volume/set`.
//! - [`wikipedia`]: `wikipedia` summaries, cleaned for speech.
//! - [`http`]: the shared HTTP client (User-Agent, time limits, size cap).
//! - [`config`]: the `[tools]` table.

pub mod clock;
pub mod config;
pub mod http;
pub mod outlook;
pub mod testkit;
pub mod volume;
pub mod weather;
pub mod wikipedia;

use std::future::Future;
use std::sync::Arc;

use std::collections::HashMap;

use hearth_bus::audio::{SetVolume, Volume};
use hearth_bus::service::ServiceState;
use hearth_bus::tool::{call_filter, names, ToolCall, ToolResult};
use hearth_bus::{Bus, BusClient, BusError, Shutdown};
use serde_json::Value;
use thiserror::Error;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

pub use config::ToolsConfig;

#[derive(Debug, Error)]
pub enum ToolsError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The tools this service answers.
pub const SERVED: &[&str] = &[names::GET_TIME, names::GET_DATE, names::GET_WEATHER, names::WIKIPEDIA, names::SET_VOLUME];

/// Everything a call needs, shared by the tasks serving calls.
#[derive(Debug, Clone)]
pub struct Tools {
    config: Arc<ToolsConfig>,
    http: http::Http,
}

impl Tools {
    pub fn new(config: ToolsConfig) -> Result<Tools, ToolsError> {
        let http = http::Http::new(config.timeout())?;
        Ok(Tools { config: Arc::new(config), http })
    }

    /// Answers one call; never fails: problems become a spoken sentence with `ok: false`. `set_volume` is
    /// answered by [`run`], which follows each site's speaker level on the bus.
    pub async fn on_tool_call(&self, call: &ToolCall) -> ToolResult {
        let args = &call.arguments;
        let answer = match call.tool.as_str() {
            names::GET_TIME => self.time(args).await,
            names::GET_DATE => Answer::done(clock::date_sentence(&self.config.clock()), None),
            names::GET_WEATHER => self.weather(args).await,
            names::WIKIPEDIA => self.wikipedia(args).await,
            other => Answer::failed(format!("I don't know how to do {other}.")),
        };
        ToolResult {
            call_id: call.call_id.clone(),
            session_id: call.session_id.clone(),
            tool: call.tool.clone(),
            ok: answer.ok,
            sentence: answer.sentence,
            data: answer.data,
        }
    }

    /// The time here, or in a named place (its time zone from the geocoder).
    async fn time(&self, args: &Value) -> Answer {
        let clock = self.config.clock();
        let Some(location) = string_arg(args, "location") else {
            return Answer::done(clock::time_sentence(&clock), None);
        };
        match self.within_deadline(weather::geocode(&self.http, &self.config.weather, location)).await {
            Some(Ok(place)) => {
                let name = place.name.clone().unwrap_or_else(|| location.to_owned());
                let sentence = place.timezone.as_deref().and_then(|tz| clock::time_in_place_sentence(&clock, tz, &name));
                match sentence {
                    Some(s) => Answer::done(s, Some(serde_json::json!({"location": name, "timezone": place.timezone}))),
                    None => Answer::failed(format!("I don't know which time zone {name} is in.")),
                }
            }
            Some(Err(e)) => {
                warn!(tool = names::GET_TIME, location, error = %e, "place lookup failed");
                Answer::failed(e.sentence())
            }
            None => Answer::failed(weather::unreachable_sentence()),
        }
    }

    async fn weather(&self, args: &Value) -> Answer {
        let location = string_arg(args, "location");
        let Some(day) = weather::Day::parse(string_arg(args, "day")) else {
            let day = string_arg(args, "day").unwrap_or_default().to_owned();
            return Answer::failed(weather::WeatherError::UnsupportedDay(day).sentence());
        };
        let Some(question) = outlook::Question::parse(string_arg(args, "question")) else {
            return Answer::failed("I can tell the weather, the temperature, and whether rain or snow is expected.".into());
        };
        let lookup = weather::lookup(&self.http, &self.config.weather, location, day, question);
        match self.within_deadline(lookup).await {
            Some(Ok(report)) => Answer::done(report.sentence, Some(report.data)),
            Some(Err(e)) => {
                warn!(tool = names::GET_WEATHER, location, error = %e, "weather lookup failed");
                Answer::failed(e.sentence())
            }
            None => Answer::failed(weather::unreachable_sentence()),
        }
    }

    async fn wikipedia(&self, args: &Value) -> Answer {
        let topic = string_arg(args, "topic").unwrap_or_default();
        match self.within_deadline(wikipedia::lookup(&self.http, &self.config.wikipedia, topic)).await {
            // An ambiguous topic is said honestly, with the data, but is not an answer.
            Some(Ok(summary)) => Answer {
                ok: summary.kind == wikipedia::PageKind::Article,
                sentence: summary.sentence,
                data: Some(summary.data),
            },
            Some(Err(e)) => {
                warn!(tool = names::WIKIPEDIA, topic, error = %e, "wikipedia lookup failed");
                Answer::failed(e.sentence())
            }
            None => Answer::failed(wikipedia::unreachable_sentence()),
        }
    }

    /// One deadline for all the requests of a call; `None` when it passed.
    async fn within_deadline<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let deadline = self.config.timeout();
        let result = tokio::time::timeout(deadline, work).await.ok();
        if result.is_none() {
            warn!(timeout_ms = self.config.timeout_ms, "tool call ran out of time");
        }
        result
    }
}

/// What a tool says, whether it did what was asked, and data for follow-ups.
struct Answer {
    ok: bool,
    sentence: String,
    data: Option<Value>,
}

impl Answer {
    fn done(sentence: String, data: Option<Value>) -> Answer {
        Answer { ok: true, sentence, data }
    }

    fn failed(sentence: String) -> Answer {
        Answer { ok: false, sentence, data: None }
    }
}

fn string_arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// Serves tool calls until shutdown.
pub async fn run(config: ToolsConfig, bus: Bus, shutdown: Shutdown) -> Result<(), ToolsError> {
    let tools = Tools::new(config)?;
    let Bus { client, mut inbox } = bus;
    for tool in SERVED {
        client.subscribe(call_filter(tool)).await?;
    }
    // The speaker level each site last announced, for "louder" and "quieter".
    client.subscribe_all_sites::<Volume>().await?;
    client.set_capabilities(SERVED.iter().map(|t| format!("tool:{t}")).collect()).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(tools = ?SERVED, "tools ready");
    let mut volumes: HashMap<String, u8> = HashMap::new();
    let mut calls = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            // Reap finished calls so the set does not grow; their results are already published.
            Some(_) = calls.join_next(), if !calls.is_empty() => {}
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let Some(site) = envelope.site().map(str::to_owned) else { continue };
                if let Some(v) = envelope.decode::<Volume>() {
                    volumes.insert(site, v.volume);
                    continue;
                }
                let Some(call) = envelope.decode::<ToolCall>() else { continue };
                debug!(tool = %call.tool, call_id = %call.call_id, %site, "tool call");
                if call.tool == names::SET_VOLUME {
                    // Quick and ordered with the volume announcements: answered here, not on a task.
                    let change = volume::change(volumes.get(&site).copied(), &call.arguments);
                    if let Some(level) = change.level {
                        if let Err(error) = client.publish(&site, &SetVolume { volume: level }).await {
                            warn!(%error, "could not ask for the new volume");
                        }
                        volumes.insert(site.clone(), level);
                    }
                    let data = change.level.map(|level| serde_json::json!({ "volume": level }));
                    let result = ToolResult {
                        call_id: call.call_id,
                        session_id: call.session_id,
                        tool: call.tool,
                        ok: change.ok,
                        sentence: change.sentence,
                        data,
                    };
                    publish_result(&client, &site, result).await;
                    continue;
                }
                let (tools, client) = (tools.clone(), client.clone());
                calls.spawn(async move {
                    let result = tools.on_tool_call(&call).await;
                    publish_result(&client, &site, result).await;
                });
            }
        }
    }
    // Calls still waiting on the network are answered by nobody after shutdown; stop them.
    calls.abort_all();
    while calls.join_next().await.is_some() {}
    Ok(())
}

async fn publish_result(client: &BusClient, site: &str, result: ToolResult) {
    if let Err(error) = client.publish(site, &result).await {
        warn!(tool = %result.tool, %error, "could not publish tool result");
    }
}
