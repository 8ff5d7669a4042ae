//! Requests answered without the LLM, through the pluggable local matcher.

use hearth_brain::{phrases, BrainConfig, LocalContext, LocalMatch, LocalMatcher};
use hearth_bus::brain::{AssistantState, ReplySource};
use hearth_bus::listen::EndReason;
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
    assert_eq!((out.texts(), out.reply().source), (vec![HOW_LONG.to_string()], ReplySource::Intent));
    let out = brain.event(10, spoken("b", "   "));
    assert_eq!((out.texts(), out.reply().source), (vec![phrases::NOT_CAUGHT.to_string()], ReplySource::Fallback));
}

/// A matcher that knows one sentence of each kind, to show the conversation takes whatever it decides.
struct Lights;

impl LocalMatcher for Lights {
    fn match_local(&mut self, text: &str, _context: &LocalContext<'_>) -> Option<LocalMatch> {
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

#[test]
fn a_weather_request_is_answered_by_the_weather_tool() {
    let mut brain = Brain::with_llm(BrainConfig::default());
    let out = brain.event(0, typed("s", "what's the weather in Paris tomorrow?"));
    assert!(out.llm_requests().is_empty(), "the LLM is not asked");
    let call = out.tool_calls().remove(0);
    assert_eq!((call.tool.as_str(), &call.arguments), ("get_weather", &json!({"location": "Paris", "day": "tomorrow"})));
    let reply = brain.event(10, result(&call, "Tomorrow in Paris: light rain, 14 degrees.", None)).reply();
    assert_eq!((reply.source, reply.tool.as_deref()), (ReplySource::Intent, Some("get_weather")));
}

/// Asks for the weather, lets the reply play and the follow-up capture end with speech.
fn weather_then_follow_up_window(brain: &mut Brain) {
    let call = brain.event(0, spoken("s", "what's the weather in Paris")).tool_calls().remove(0);
    assert_eq!(call.arguments, json!({"location": "Paris"}));
    let say = brain.event(10, result(&call, "In Paris it's 12 degrees and cloudy.", None)).says().remove(0);
    let listen = brain.event(20, played(&say, false)).listens().remove(0);
    assert_eq!(listen.session_id.as_deref(), Some("s"));
    brain.event(30, started("s"));
    brain.event(40, ended("s", EndReason::Silence));
}

#[test]
fn a_follow_up_in_the_window_continues_the_local_request() {
    let mut brain = Brain::new(BrainConfig::default());
    weather_then_follow_up_window(&mut brain);
    let call = brain.event(50, spoken("s", "what about tomorrow?")).tool_calls().remove(0);
    assert_eq!((call.tool.as_str(), &call.arguments), ("get_weather", &json!({"location": "Paris", "day": "tomorrow"})));
    let say = brain.event(60, result(&call, "Tomorrow in Paris: sunny.", None)).says().remove(0);
    brain.event(70, played(&say, false));
    brain.event(80, started("s"));
    brain.event(90, ended("s", EndReason::Silence));
    let call = brain.event(100, spoken("s", "and in London?")).tool_calls().remove(0);
    assert_eq!(call.arguments, json!({"location": "London", "day": "tomorrow"}));
}

#[test]
fn once_the_conversation_ended_a_follow_up_has_nothing_to_continue() {
    let mut brain = Brain::new(BrainConfig::default());
    weather_then_follow_up_window(&mut brain);
    // Nothing said in the window: the conversation ends.
    assert_eq!(brain.event(50, ended("s", EndReason::NoSpeech)).states(), [AssistantState::Idle]);
    brain.event(60, wake("t"));
    let out = brain.event(70, spoken("t", "what about tomorrow?"));
    assert!(out.tool_calls().is_empty());
    assert_eq!(out.texts(), [phrases::NO_LLM]);
}

#[test]
fn a_request_whose_tool_nobody_serves_goes_to_the_llm() {
    let mut brain = Brain::with_llm(BrainConfig::default());
    let out = brain.event(0, typed("a", "play some music"));
    assert!(out.tool_calls().is_empty(), "no music service announces `play_music`");
    assert_eq!(out.llm_requests().remove(0).messages.last().unwrap().content, "play some music");
    // Without an LLM it is the plain "can't".
    let mut brain = Brain::new(BrainConfig::default());
    assert_eq!(brain.event(0, typed("b", "play some music")).texts(), [phrases::NO_LLM]);
    // Once a service announces it, the request is answered locally.
    brain.serve("music", &["play_music"]);
    assert_eq!(brain.event(10, typed("c", "play some music")).tool_calls().remove(0).tool, "play_music");
}
