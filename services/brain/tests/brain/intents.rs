//! The requests the old hand-written matcher (intent.rs) answered, against the template matcher: every
//! one is still answered locally, with the same tool and arguments (the template's question back for a
//! timer without a length is "How long should the timer be?", the timers service's own wording).

use hearth_brain::{LocalContext, LocalMatch, LocalMatcher, ServedTools, TemplateMatcher};
use hearth_bus::service::ServiceState;
use hearth_bus::tool::names;
use serde_json::{json, Value};

use crate::util::{builtin_matcher, HOW_LONG, TIMERS, TOOLS};

fn served() -> ServedTools {
    let mut served = ServedTools::default();
    for (service, tools) in [("tools", TOOLS), ("timers", TIMERS)] {
        let capabilities: Vec<String> = tools.iter().map(|t| format!("tool:{t}")).collect();
        served.on_capabilities("hub", service, &capabilities);
        served.on_status("hub", service, ServiceState::Online);
    }
    served
}

fn local(matcher: &mut TemplateMatcher, text: &str) -> Option<LocalMatch> {
    let served = served();
    matcher.match_local(text, &LocalContext { site: "kitchen", follow_up: false, tools: &served })
}

fn tool(text: &str) -> (String, Value) {
    match local(&mut builtin_matcher(), text) {
        Some(LocalMatch::Tool { tool, arguments }) => (tool, arguments),
        other => panic!("{text:?} gave {other:?}"),
    }
}

#[test]
fn timers_with_lengths_in_words_and_digits() {
    let cases = [
        ("Set a timer for ten seconds.", 10),
        ("set a timer for 10 minutes", 600),
        ("Timer for a minute and a half", 90),
        ("set a timer for one and a half minutes", 90),
        ("start a timer for ninety seconds", 90),
        ("set a timer for half an hour", 1800),
        ("set a timer for 2 minutes and 30 seconds", 150),
        ("set a five-minute timer", 300),
        ("set a timer for an hour and a half", 5400),
        ("set a timer for twenty five minutes", 1500),
    ];
    for (text, secs) in cases {
        let (t, args) = tool(text);
        assert_eq!(t, names::SET_TIMER, "{text}");
        assert_eq!(args["duration_seconds"], json!(secs), "{text}");
    }
}

#[test]
fn timer_names() {
    assert_eq!(tool("set a pasta timer for ten minutes").1["name"], json!("pasta"));
    assert_eq!(tool("set a timer for 5 minutes called eggs").1["name"], json!("eggs"));
    assert_eq!(tool("set a timer for ten minutes for the rice").1["name"], json!("rice"));
    assert!(tool("set a ten minute timer").1.get("name").is_none());
    assert_eq!(tool("cancel the pasta timer").1, json!({"name": "pasta"}));
    assert_eq!(tool("cancel all timers").1, json!({"all": true}));
    assert_eq!(tool("cancel the timer").1, json!({}));
    assert_eq!(tool("how long is left on the pasta timer").1, json!({"name": "pasta"}));
}

#[test]
fn status_time_date_stop() {
    assert_eq!(tool("How long is left?").0, names::TIMER_STATUS);
    assert_eq!(tool("how much time is left on my timer").0, names::TIMER_STATUS);
    assert_eq!(tool("What time is it?"), (names::GET_TIME.to_string(), json!({})));
    assert_eq!(tool("what's the time").0, names::GET_TIME);
    assert_eq!(tool("What's the date today?"), (names::GET_DATE.to_string(), json!({})));
    assert_eq!(tool("what day is it").0, names::GET_DATE);
    let mut m = builtin_matcher();
    assert_eq!(local(&mut m, "Stop!"), Some(LocalMatch::StopPlayback));
    assert_eq!(local(&mut m, "never mind"), Some(LocalMatch::StopPlayback));
    assert_eq!(local(&mut m, "set a timer"), Some(LocalMatch::Say(HOW_LONG.into())));
}

#[test]
fn open_questions_and_figures_of_speech_go_to_the_llm() {
    let mut m = builtin_matcher();
    for text in ["I'm under the weather today", "tell me a joke", "set the table", ""] {
        assert_eq!(local(&mut m, text), None, "{text}");
    }
}

#[test]
fn newly_covered_requests_are_answered_locally() {
    // The old matcher left these to the LLM; the templates answer them (the tools service takes a
    // `location` for get_time).
    assert_eq!(tool("what's the weather in Paris"), (names::GET_WEATHER.to_string(), json!({"location": "Paris"})));
    assert_eq!(tool("what time is it in Tokyo"), (names::GET_TIME.to_string(), json!({"location": "Tokyo"})));
    assert_eq!(tool("who was Ada Lovelace").0, names::WIKIPEDIA);
}

#[test]
fn a_tool_nobody_serves_is_not_matched() {
    let mut m = builtin_matcher();
    let nobody = ServedTools::default();
    let context = LocalContext { site: "kitchen", follow_up: false, tools: &nobody };
    assert_eq!(m.match_local("what time is it", &context), None);
    // Speech and the brain's own actions need no service.
    assert_eq!(m.match_local("stop", &context), Some(LocalMatch::StopPlayback));
    assert_eq!(local(&mut m, "what do you see"), None, "no camera service announces `look`");
}
