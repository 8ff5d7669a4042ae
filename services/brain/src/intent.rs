//! The local intent matcher: runs before any LLM and answers the everyday requests (time, date,
//! timers, stop) at once and without guessing. Anything it does not recognise goes to the LLM.

use hearth_bus::tool::names;
use hearth_node::words;
use serde_json::{json, Value};

use crate::local::{LocalMatch, LocalMatcher};
use crate::phrases;

/// The built-in matcher: [`parse`] behind the [`LocalMatcher`] seam.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinIntents;

impl LocalMatcher for BuiltinIntents {
    fn match_local(&self, text: &str) -> Option<LocalMatch> {
        match parse(text) {
            Intent::Stop => Some(LocalMatch::StopPlayback),
            Intent::TimerNeedsDuration => Some(LocalMatch::Say(phrases::TIMER_HOW_LONG.into())),
            Intent::Tool { tool, arguments } => Some(LocalMatch::Tool { tool: tool.into(), arguments }),
            Intent::Unknown => None,
        }
    }
}

/// What a transcript asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Stop talking / stop the alarm.
    Stop,
    /// A tool call with its arguments.
    Tool { tool: &'static str, arguments: Value },
    /// A timer request without a usable length ("set a timer").
    TimerNeedsDuration,
    /// Not recognised: ask the LLM.
    Unknown,
}

/// Matches a transcript.
pub fn parse(text: &str) -> Intent {
    let norm = normalise(text);
    let tokens: Vec<&str> = norm.split_whitespace().collect();
    let joined = tokens.join(" ");
    let has = |w: &str| tokens.contains(&w);
    let has_phrase = |p: &str| format!(" {joined} ").contains(&format!(" {p} "));

    if is_stop(&joined) {
        return Intent::Stop;
    }
    let timer_word = tokens.iter().any(|t| *t == "timer" || *t == "timers");
    if timer_word {
        if has("cancel") || has("stop") || has("delete") || has("remove") || has("clear") || has("end") {
            let all = has("all") || (has("timers") && !has("timer")) || has_phrase("every timer");
            let mut arguments = json!({});
            if all {
                arguments["all"] = json!(true);
            } else if let Some(name) = timer_name(&tokens) {
                arguments["name"] = json!(name);
            }
            return Intent::Tool { tool: names::CANCEL_TIMER, arguments };
        }
        if let Some(duration_s) = parse_duration_s(&tokens) {
            let mut arguments = json!({ "duration_seconds": duration_s });
            if let Some(name) = timer_name(&tokens) {
                arguments["name"] = json!(name);
            }
            return Intent::Tool { tool: names::SET_TIMER, arguments };
        }
        if is_status(&joined) {
            let mut arguments = json!({});
            if let Some(name) = timer_name(&tokens) {
                arguments["name"] = json!(name);
            }
            return Intent::Tool { tool: names::TIMER_STATUS, arguments };
        }
        if has("set") || has("start") || has("create") || has("make") || has("new") {
            return Intent::TimerNeedsDuration;
        }
    } else if is_status(&joined) && !has("time") {
        // "how long is left?" with no timer word still means the timers.
        return Intent::Tool { tool: names::TIMER_STATUS, arguments: json!({}) };
    }
    if is_time_question(&joined) {
        return Intent::Tool { tool: names::GET_TIME, arguments: json!({}) };
    }
    if is_date_question(&joined) {
        return Intent::Tool { tool: names::GET_DATE, arguments: json!({}) };
    }
    Intent::Unknown
}

/// Lower case, apostrophes kept, other punctuation (except `:` and `.` inside numbers) to spaces.
fn normalise(text: &str) -> String {
    let lower = text.to_lowercase().replace(['’', '‘'], "'");
    let chars: Vec<char> = lower.chars().collect();
    let mut out = String::with_capacity(lower.len());
    for (i, &c) in chars.iter().enumerate() {
        let between_digits = |c: char| {
            c == '.' && i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
        };
        if c.is_alphanumeric() || c == '\'' || c == '-' || between_digits(c) {
            out.push(c);
        } else {
            out.push(' ');
        }
    }
    out
}

fn is_stop(joined: &str) -> bool {
    let core = joined.trim_start_matches("please ").trim_end_matches(" please").trim_end_matches(" now");
    matches!(
        core,
        "stop" | "cancel" | "never mind" | "nevermind" | "be quiet" | "quiet" | "shut up" | "stop it" | "enough"
            | "that's enough" | "stop talking" | "silence" | "hush" | "okay stop" | "ok stop" | "stop the alarm"
            | "stop the timer" | "stop timer" | "dismiss" | "forget it"
    )
}

fn is_status(joined: &str) -> bool {
    [
        "how long is left", "how much time is left", "how much time left", "how long left", "time left", "time remaining",
        "how long until", "how much longer", "how long to go", "timer status", "status of", "what's left on",
        "what is left on", "check the timer", "check my timer", "how's the timer", "how long is remaining",
        "how long on", "how much time on",
    ]
    .iter()
    .any(|p| joined.contains(p))
}

fn is_time_question(joined: &str) -> bool {
    // "what time is it in Tokyo" needs a world clock the LLM does not have: leave it to the LLM to say so.
    let local = !joined.contains(" in ");
    local
        && [
            "what time is it", "what's the time", "what is the time", "tell me the time", "current time", "time is it",
            "got the time", "the time please", "what time it is",
        ]
        .iter()
        .any(|p| joined.contains(p))
}

fn is_date_question(joined: &str) -> bool {
    [
        "what's the date", "what is the date", "what date is it", "what day is it", "what's today's date",
        "today's date", "what is today", "what's today", "which day is it", "what day is today", "the date today",
        "what date is today",
    ]
    .iter()
    .any(|p| joined.contains(p))
}

/// Seconds in "ten minutes", "a minute and a half", "one and a half hours", "half an hour",
/// "2 minutes 30 seconds", "five-minute", "90 seconds". `None` when no length is given.
pub fn parse_duration_s(tokens: &[&str]) -> Option<u64> {
    // Split "five-minute" / "10-second" so the unit stands alone.
    let expanded: Vec<String> = tokens
        .iter()
        .flat_map(|t| match t.split_once('-') {
            Some((a, b)) if unit_seconds(b).is_some() => vec![a.to_string(), b.to_string()],
            _ => vec![t.to_string()],
        })
        .collect();
    let toks: Vec<&str> = expanded.iter().map(String::as_str).collect();
    let mut total = 0.0;
    let mut found = false;
    let mut i = 0;
    while i < toks.len() {
        // "half an hour", "half a minute"
        if toks[i] == "half" && matches!(toks.get(i + 1), Some(&"an") | Some(&"a")) {
            if let Some(u) = toks.get(i + 2).and_then(|u| unit_seconds(u)) {
                total += 0.5 * u;
                found = true;
                i += 3;
                continue;
            }
        }
        if let Some((value, used)) = words::parse_number(&toks[i..]) {
            let mut j = i + used;
            let mut value = value;
            // "one and a half minutes"
            if toks.get(j..j + 3) == Some(&["and", "a", "half"]) {
                value += 0.5;
                j += 3;
            }
            if let Some(u) = toks.get(j).and_then(|u| unit_seconds(u)) {
                total += value * u;
                found = true;
                j += 1;
                // "a minute and a half"
                if toks.get(j..j + 3) == Some(&["and", "a", "half"]) {
                    total += 0.5 * u;
                    j += 3;
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    (found && total >= 1.0).then(|| total.round() as u64)
}

fn unit_seconds(word: &str) -> Option<f64> {
    match word {
        "second" | "seconds" | "sec" | "secs" => Some(1.0),
        "minute" | "minutes" | "min" | "mins" => Some(60.0),
        "hour" | "hours" | "hr" | "hrs" => Some(3600.0),
        _ => None,
    }
}

/// The timer's name: "called pasta", "named pasta", "a pasta timer", "the timer for the pasta".
fn timer_name(tokens: &[&str]) -> Option<String> {
    const NOT_NAMES: &[&str] = &[
        "a", "an", "the", "my", "set", "start", "create", "make", "new", "cancel", "stop", "delete", "remove", "clear",
        "end", "this", "that", "all", "every", "one", "on", "for", "of", "is", "left", "how", "much", "long", "time",
        "and", "half", "up", "please", "timer", "timers", "status", "check", "what's", "what", "me",
    ];
    let is_name = |w: &str| {
        !NOT_NAMES.contains(&w) && unit_seconds(w).is_none() && words::parse_number(&[w]).is_none()
            && w.split_once('-').is_none_or(|(_, b)| unit_seconds(b).is_none())
    };
    for (i, t) in tokens.iter().enumerate() {
        if matches!(*t, "called" | "named" | "labelled" | "labeled") {
            let name: Vec<&str> = tokens[i + 1..].iter().copied().take_while(|w| is_name(w)).collect();
            if !name.is_empty() {
                return Some(name.join(" "));
            }
        }
    }
    // "<name> timer"
    if let Some(pos) = tokens.iter().position(|t| *t == "timer") {
        if pos > 0 && is_name(tokens[pos - 1]) {
            return Some(tokens[pos - 1].to_string());
        }
    }
    // "timer … for the pasta" where "for" is not followed by a length.
    for (i, t) in tokens.iter().enumerate() {
        if *t == "for" {
            let rest: Vec<&str> = tokens[i + 1..].iter().copied().skip_while(|w| matches!(*w, "the" | "my")).collect();
            if let Some(first) = rest.first() {
                if is_name(first) && parse_duration_s(&rest).is_none() {
                    return Some(first.to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(text: &str) -> (&'static str, Value) {
        match parse(text) {
            Intent::Tool { tool, arguments } => (tool, arguments),
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
        assert_eq!(tool("What time is it?").0, names::GET_TIME);
        assert_eq!(tool("what's the time").0, names::GET_TIME);
        assert_eq!(tool("What's the date today?").0, names::GET_DATE);
        assert_eq!(tool("what day is it").0, names::GET_DATE);
        assert_eq!(parse("Stop!"), Intent::Stop);
        assert_eq!(parse("never mind"), Intent::Stop);
        assert_eq!(parse("set a timer"), Intent::TimerNeedsDuration);
    }

    #[test]
    fn the_builtin_matcher_maps_intents_to_local_matches() {
        let m = BuiltinIntents;
        assert_eq!(m.match_local("stop"), Some(LocalMatch::StopPlayback));
        assert_eq!(m.match_local("set a timer"), Some(LocalMatch::Say(phrases::TIMER_HOW_LONG.into())));
        assert_eq!(
            m.match_local("what time is it"),
            Some(LocalMatch::Tool { tool: names::GET_TIME.into(), arguments: json!({}) })
        );
        assert_eq!(m.match_local("tell me a joke"), None);
    }

    #[test]
    fn everything_else_goes_to_the_llm() {
        for text in [
            "what's the weather in Paris",
            "what time is it in Tokyo",
            "who was Ada Lovelace",
            "I'm under the weather today",
            "tell me a joke",
            "",
        ] {
            assert_eq!(parse(text), Intent::Unknown, "{text}");
        }
    }
}
