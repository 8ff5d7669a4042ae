//! The brain's side of the LLM protocol: streamed sentences, tool calls answered by the tool's sentence,
//! memory for follow-ups and the follow-up listening window.

use hearth_brain::phrases;
use hearth_brain::{BrainConfig, Inbound};
use hearth_bus::brain::{AssistantState, ReplySource};
use hearth_bus::listen::ListenReason;
use hearth_bus::llm::{LlmEventKind, Role};
use hearth_bus::service::ServiceState;
use serde_json::{json, Value};

use crate::util::*;

const WEATHER: &str = "It's 14 degrees and cloudy in Paris, with wind at 12 kilometers per hour.";

#[test]
fn sentences_stream_in_order_then_close_and_follow_up_opens() {
    let mut brain = Brain::with_llm(BrainConfig::default());
    let out = brain.event(0, spoken("s1", "tell me a story"));
    assert_eq!(out.states(), [AssistantState::Thinking]);
    let request = out.llm_requests().remove(0);
    assert_eq!(request.messages.len(), 1);

    let mut says = Vec::new();
    for (i, text) in ["Once upon a time.", "There was a hearth.", "The end."].iter().enumerate() {
        says.extend(brain.event(100 + i as u64, sentence(&request, text)).says());
    }
    let out = brain.event(200, done(&request));
    says.extend(out.says());
    let seqs: Vec<u32> = says.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3], "sentences go out in order");
    let texts: Vec<&str> = says.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, ["Once upon a time.", "There was a hearth.", "The end.", ""]);
    assert!(says.iter().all(|s| s.utterance_id == says[0].utterance_id && s.last == s.text.is_empty()));
    let reply = out.reply();
    assert_eq!(reply.source, ReplySource::Llm);
    assert_eq!(reply.text, "Once upon a time. There was a hearth. The end.");
    assert_eq!(reply.elapsed_ms, 200);

    // When the reply has played, the brain listens for a follow-up in the same session.
    let out = brain.event(3000, played(&says[3], false));
    let start = out.listens().remove(0);
    assert_eq!(start.reason, ListenReason::FollowUp);
    assert_eq!(start.session_id.as_deref(), Some("s1"));
    assert_eq!(start.no_speech_timeout_ms, Some(5000));

    // The follow-up carries the conversation so far.
    let request = brain.event(4000, spoken("s1", "and then what happened with the clock")).llm_requests().remove(0);
    let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
    // That one was a tool call: the tool's sentence is the reply, spoken without another LLM pass.
    let out = brain.event(4100, llm(&request, LlmEventKind::ToolCall { tool: "get_time".into(), arguments: json!({}) }));
    let call = out.tool_calls().remove(0);
    assert_eq!((call.tool.as_str(), call.session_id.as_deref()), ("get_time", Some("s1")));
    let out = brain.event(4200, result(&call, "It's 3:00 PM.", None));
    let say = out.says().remove(0);
    assert!(say.last && say.text.starts_with("It's"));
    let reply = out.reply();
    assert_eq!((reply.source, reply.tool.as_deref()), (ReplySource::Tool, Some("get_time")));
    assert!(out.llm_requests().is_empty(), "no second LLM pass");
    // A `done` after the call belongs to nobody any more.
    assert!(brain.event(4300, done(&request)).is_empty());
}

#[test]
fn follow_ups_open_only_after_a_spoken_reply_played_to_the_end() {
    let mut brain = Brain::new(BrainConfig::default());
    let ask = |brain: &mut Brain, ms: u64, turn: Inbound| {
        let call = brain.event(ms, turn).tool_calls().remove(0);
        brain.event(ms + 10, result(&call, "It's noon.", None)).says().remove(0)
    };
    // Interrupted: back to idle, no window.
    let say = ask(&mut brain, 0, spoken("a", "what time is it"));
    let out = brain.event(100, played(&say, true));
    assert_eq!((out.listens().len(), out.states()), (0, vec![AssistantState::Idle]));
    // Typed: nobody at the microphone.
    let say = ask(&mut brain, 200, typed("b", "what time is it"));
    let out = brain.event(300, played(&say, false));
    assert_eq!((out.listens().len(), out.states()), (0, vec![AssistantState::Idle]));
    // Another utterance's playback: not ours.
    let say = ask(&mut brain, 400, spoken("c", "what time is it"));
    let mut other = say.clone();
    other.utterance_id = "someone-else".into();
    assert!(brain.event(500, played(&other, false)).is_empty());
    assert_eq!(brain.event(600, played(&say, false)).listens().len(), 1);
    // Follow-ups switched off.
    let mut brain = Brain::new(BrainConfig { follow_up_ms: 0, ..Default::default() });
    let say = ask(&mut brain, 0, spoken("d", "what time is it"));
    assert_eq!(brain.event(100, played(&say, false)).states(), [AssistantState::Idle]);
}

#[test]
fn without_an_llm_the_fallback_says_what_works() {
    let mut brain = Brain::new(BrainConfig::default());
    let out = brain.event(0, typed("a", "who wrote war and peace"));
    assert_eq!(out.texts(), [phrases::NO_LLM]);
    assert!(out.llm_requests().is_empty());
    // Online, then gone again.
    brain.event(10, Inbound::LlmStatus(ServiceState::Online));
    assert_eq!(brain.event(20, typed("b", "who wrote war and peace")).llm_requests().len(), 1);
    brain.event(30, Inbound::LlmStatus(ServiceState::Offline));
    assert_eq!(brain.event(40, typed("c", "who wrote war and peace")).texts(), [phrases::NO_LLM]);
    // `use_llm = false` never asks, whatever the service says.
    let mut brain = Brain::with_llm(BrainConfig { use_llm: false, ..Default::default() });
    let out = brain.event(0, typed("d", "who wrote war and peace"));
    assert_eq!((out.texts(), out.llm_requests().len()), (vec![phrases::NO_LLM.to_string()], 0));
}

#[test]
fn memory_is_forgotten_after_a_quiet_spell() {
    let mut brain = Brain::with_llm(BrainConfig { memory_s: 60, ..Default::default() });
    let request = brain.event(0, typed("a", "tell me a story")).llm_requests().remove(0);
    brain.event(10, sentence(&request, "Once."));
    brain.event(20, done(&request));
    let request = brain.event(30_000, typed("b", "and then?")).llm_requests().remove(0);
    assert_eq!(request.messages.len(), 3);
    brain.event(30_010, done(&request));
    let request = brain.event(30_010 + 60_001, typed("c", "hello again")).llm_requests().remove(0);
    assert_eq!(request.messages.len(), 1);
}

/// The weather turn the LLM answered with a tool, then "what about tomorrow?": the follow-up prompt
/// carries the tool, its arguments and the spoken sentence, not the tool's structured data.
#[test]
fn a_weather_follow_up_remembers_the_tool_turn_briefly() {
    // No service has announced `get_weather` yet, so the local templates leave the weather to the LLM.
    let mut brain = Brain::with_matcher(BrainConfig::default(), Box::new(builtin_matcher()));
    brain.event(0, Inbound::LlmStatus(ServiceState::Online));
    let request = brain.event(0, spoken("w", "what's the weather in paris")).llm_requests().remove(0);
    let arguments = json!({"location": "Paris"});
    let event = LlmEventKind::ToolCall { tool: "get_weather".into(), arguments: arguments.clone() };
    let call = brain.event(100, llm(&request, event)).tool_calls().remove(0);
    // The tools service's data for this answer (its `get_weather` shape in topics.md).
    let data = json!({
        "location": "Paris", "country": "France", "latitude": 48.85341, "longitude": 2.3488, "day": "now",
        "temperature": 14.0, "low": null, "high": null, "temperature_unit": "celsius", "weather_code": 3,
        "condition": "cloudy", "wind_speed": 11.6, "wind_speed_unit": "kmh",
    });
    let out = brain.event(200, result(&call, WEATHER, Some(data)));
    assert_eq!(out.reply().source, ReplySource::Tool);

    let follow_up = brain.event(5000, spoken("w", "what about tomorrow?")).llm_requests().remove(0);
    let roles: Vec<Role> = follow_up.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Tool, Role::User]);
    let remembered: Value = serde_json::from_str(&follow_up.messages[1].content).unwrap();
    assert_eq!(remembered, json!({"tool": "get_weather", "arguments": arguments, "result": WEATHER}));
    let chars: usize = follow_up.messages.iter().map(|m| m.content.len()).sum();
    // What `hearth-brain` reports for the measurement in its notes: messages only, the fixed prefix aside.
    eprintln!("weather follow-up: {chars} characters of messages (~{} tokens)", chars.div_ceil(4));
}
