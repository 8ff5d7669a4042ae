//! Requests answered without the LLM, through the pluggable local matcher.

use hearth_brain::{phrases, BrainConfig, LocalMatch, LocalMatcher};
use hearth_bus::brain::{AssistantState, ReplySource};
use serde_json::json;

use crate::util::*;

#[test]
fn a_local_tool_call_is_answered_by_the_tool_sentence() {
    let mut brain = Brain::with_llm(BrainConfig::default());
    let out = brain.event(0, typed("s", "set a pasta timer for ninety seconds"));
    assert!(out.llm_requests().is_empty(), "the LLM is not asked");
    let call = out.tool_calls().remove(0);
    assert_eq!((call.tool.as_str(), &call.arguments), ("set_timer", &json!({"duration_seconds": 90, "name": "pasta"})));
    let out = brain.event(30, result(&call, "Okay, pasta timer for one and a half minutes, starting now.", None));
    let reply = out.reply();
    assert_eq!((reply.source, reply.tool.as_deref(), reply.elapsed_ms), (ReplySource::Intent, Some("set_timer"), 30));
    assert_eq!(reply.request, "set a pasta timer for ninety seconds");
    // Typed: speaking, and no follow-up window will open.
    assert_eq!(out.states(), [AssistantState::Speaking]);
}

#[test]
fn stop_stops_playback_and_says_nothing() {
    let mut brain = Brain::new(BrainConfig::default());
    let out = brain.event(0, spoken("s", "Stop!"));
    assert_eq!(out.stops().remove(0).reason, "user");
    assert!(out.says().is_empty());
    let reply = out.reply();
    assert_eq!((reply.text.as_str(), reply.source), ("", ReplySource::Intent));
    assert_eq!(out.states(), [AssistantState::Thinking, AssistantState::Idle]);
}

#[test]
fn a_question_back_and_an_empty_transcript() {
    let mut brain = Brain::new(BrainConfig::default());
    let out = brain.event(0, spoken("a", "set a timer"));
    assert_eq!((out.texts(), out.reply().source), (vec![phrases::TIMER_HOW_LONG.to_string()], ReplySource::Intent));
    let out = brain.event(10, spoken("b", "   "));
    assert_eq!((out.texts(), out.reply().source), (vec![phrases::NOT_CAUGHT.to_string()], ReplySource::Fallback));
}

/// A matcher that knows one sentence of each kind, to show the conversation takes whatever it decides.
struct Lights;

impl LocalMatcher for Lights {
    fn match_local(&self, text: &str) -> Option<LocalMatch> {
        match text {
            "lights on" => Some(LocalMatch::Tool { tool: "lights".into(), arguments: json!({"on": true}) }),
            "hello" => Some(LocalMatch::Say("Hello there.".into())),
            "hush" => Some(LocalMatch::StopPlayback),
            _ => None,
        }
    }
}

#[test]
fn the_local_matcher_is_pluggable() {
    let mut brain = Brain::with_matcher(BrainConfig::default(), Box::new(Lights));
    let call = brain.event(0, typed("a", "lights on")).tool_calls().remove(0);
    assert_eq!((call.tool.as_str(), &call.arguments), ("lights", &json!({"on": true})));
    assert_eq!(brain.event(10, result(&call, "The lights are on.", None)).reply().tool.as_deref(), Some("lights"));
    assert_eq!(brain.event(20, typed("b", "hello")).texts(), ["Hello there."]);
    assert_eq!(brain.event(30, typed("c", "hush")).stops().len(), 1);
    // What it does not know is not known: the built-in time intent is gone with the built-in matcher.
    assert_eq!(brain.event(40, typed("d", "what time is it")).texts(), [phrases::NO_LLM]);
}
