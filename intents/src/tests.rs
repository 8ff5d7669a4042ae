//! Whole-crate tests: the built-in set, user files over it, start-up errors, follow-ups.

use serde_json::json;

use crate::{Intents, Response};

fn builtin() -> Intents {
    Intents::builtin().expect("the built-in templates compile")
}

fn call(intents: &Intents, text: &str) -> (String, serde_json::Value) {
    let m = intents.recognize(text).unwrap_or_else(|| panic!("{text:?} did not match"));
    let calls = m.tool_calls();
    assert_eq!(calls.len(), 1, "{text:?} gave {m:?}");
    (calls[0].tool.clone(), calls[0].arguments.clone())
}

#[test]
fn built_in_sentences_become_tool_calls() {
    let i = builtin();
    assert_eq!(call(&i, "What time is it in Tokyo?"), ("get_time".into(), json!({"location": "Tokyo"})));
    assert_eq!(call(&i, "set a pasta timer for ten minutes"), ("set_timer".into(), json!({"duration_seconds": 600, "name": "pasta"})));
    assert_eq!(call(&i, "cancel all timers"), ("cancel_timer".into(), json!({"all": true})));
    assert_eq!(call(&i, "stop the timer"), ("cancel_timer".into(), json!({})));
    assert_eq!(call(&i, "add 5 minutes to the timer"), ("extend_timer".into(), json!({"duration_seconds": 300})));
    assert_eq!(call(&i, "what timers do I have"), ("timer_status".into(), json!({})));
    assert_eq!(
        call(&i, "will it rain in Paris, Texas tomorrow?"),
        ("get_weather".into(), json!({"location": "Paris, Texas", "day": "tomorrow", "question": "rain"}))
    );
    assert_eq!(call(&i, "who was Ada Lovelace?"), ("wikipedia".into(), json!({"topic": "Ada Lovelace"})));
    assert_eq!(call(&i, "set the volume to 40%"), ("set_volume".into(), json!({"level": 40})));
    assert_eq!(call(&i, "text Alex that I'm running late"), ("send_message".into(), json!({"contact": "Alex", "message": "I'm running late"})));
}

#[test]
fn stop_and_questions_back_are_the_brains() {
    let i = builtin();
    let stop = i.recognize("never mind").unwrap();
    assert_eq!((stop.action(), stop.tool_calls().len()), (Some("stop"), 0));
    let ask = i.recognize("set a timer").unwrap();
    assert_eq!(ask.speech(), Some("How long should the timer be?"));
    assert_eq!(ask.response, Response::Speech("How long should the timer be?".into()));
}

#[test]
fn everything_else_goes_to_the_llm() {
    let i = builtin();
    for text in ["", "  ", "please", "I'm under the weather", "set the table", "tell me a joke", "what is the meaning of life"] {
        assert!(i.recognize(text).is_none(), "{text:?} matched {:?}", i.recognize(text));
    }
}

#[test]
fn follow_ups_keep_the_intent_and_change_slots() {
    let i = builtin();
    let paris = i.recognize("what's the weather in Paris").unwrap();
    let tomorrow = i.follow_up(&paris, "what about tomorrow?").unwrap();
    assert_eq!(tomorrow.tool_calls()[0].arguments, json!({"location": "Paris", "day": "tomorrow"}));
    let london = i.follow_up(&tomorrow, "and in London?").unwrap();
    assert_eq!(london.tool_calls()[0].arguments, json!({"location": "London", "day": "tomorrow"}));
    // A full request wins over a follow-up; a follow-up without a previous match is nothing.
    let time = i.recognize_in_context("what time is it", Some(&london)).unwrap();
    assert_eq!(time.intent, "time");
    assert!(i.recognize_in_context("what about tomorrow?", None).is_none());
    // Timers have no follow-ups: "and in London?" after one goes to the LLM.
    let timer = i.recognize("set a timer for 5 minutes").unwrap();
    assert!(i.follow_up(&timer, "and in London?").is_none());
}

#[test]
fn user_files_add_override_and_disable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("10-kitchen.toml"),
        "[intents.timer_set]\nsentences = [\"(egg|eggs) timer {duration:duration_seconds}\"]\n\
         [intents.wikipedia]\ndisabled = true\n\
         [intents.lights]\ntool = \"lights\"\nsentences = [\"lights (on|off){switch}\"]\n[lists.switch]\nvalues = [\"\"]\n",
    )
    .unwrap();
    let err = Intents::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("10-kitchen.toml:") && err.contains("value ``"), "{err}");
    std::fs::write(
        dir.path().join("10-kitchen.toml"),
        "[intents.timer_set]\nsentences = [\"(egg|eggs) timer {duration:duration_seconds}\"]\n\
         [intents.wikipedia]\ndisabled = true\n\
         [intents.lights]\ntool = \"lights\"\nsentences = [\"[turn] [the] lights {state}\"]\n\
         [lists.state]\nvalues = [{ in = \"on\", out = true }, { in = \"off\", out = false }]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a template file").unwrap();
    let i = Intents::load(Some(dir.path())).unwrap();
    assert_eq!(call(&i, "egg timer 4 minutes"), ("set_timer".into(), json!({"duration_seconds": 240})));
    assert_eq!(call(&i, "turn the lights off"), ("lights".into(), json!({"state": false})));
    assert!(i.recognize("who was Ada Lovelace").is_none());
    // The built-in sentences of an intent stay unless replaced.
    assert!(i.recognize("set a timer for 5 minutes").is_some());
    // No folder: the built-in set alone.
    assert!(Intents::load(Some(&dir.path().join("missing"))).unwrap().recognize("who was Ada Lovelace").is_some());
}

#[test]
fn a_malformed_file_names_file_line_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "# mine\n[intents.weather]\nsentences = [\n  \"what's the weather (in {place:location}\",\n]\n").unwrap();
    let err = Intents::load(Some(dir.path())).unwrap_err();
    let origin = err.origin().unwrap();
    assert_eq!((origin.file.as_ref(), origin.line, origin.column), (path.display().to_string().as_str(), 4, 23));
    assert!(err.to_string().ends_with("`(` is never closed with `)`"), "{err}");

    std::fs::write(&path, "[intents.weather]\nsentences = \"not a list\"\n").unwrap();
    let err = Intents::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("bad.toml:2:") && err.contains("invalid type"), "{err}");
}

#[test]
fn skip_words_come_off_both_ends_only() {
    let i = builtin();
    assert_eq!(call(&i, "hey jarvis, could you please tell me the time, thanks").0, "get_time");
    // Inside free text they stay: the topic is what was said.
    assert_eq!(call(&i, "tell me about Hello Kitty").1, json!({"topic": "Hello Kitty"}));
}
