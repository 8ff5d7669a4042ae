//! `hearth-llm eval routing`: does a model call the right tool, with the right arguments, and stay quiet when
//! no tool is wanted? Users run it on candidate models to choose one, weighing accuracy against speed:
//! several `--model`s give one [`comparison_table`].

use std::fmt;
use std::path::Path;

use hearth_bus::llm::{ChatMessage, Role};
use hearth_bus::tool::catalog;
use serde::Serialize;
use serde_json::Value;

use crate::engine::{Engine, LlmModel, Output};
use crate::{LlmConfig, LlmError};

/// One utterance and what should happen.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub category: &'static str,
    pub utterance: &'static str,
    /// The tool that must be called; `None`: no tool may be called.
    pub tool: Option<&'static str>,
    /// Arguments that must be present: key and a value its text must contain (case-insensitive).
    pub args: &'static [(&'static str, &'static str)],
}

const fn case(category: &'static str, utterance: &'static str, tool: Option<&'static str>, args: &'static [(&'static str, &'static str)]) -> Case {
    Case { category, utterance, tool, args }
}

/// The routing set: weather, time, date, timers, Wikipedia, the camera, messages and calls, questions that need
/// no tool, and traps that mention a tool's subject without asking for it.
pub const CASES: &[Case] = &[
    case("weather", "What's the weather like?", Some("get_weather"), &[]),
    case("weather", "Will it rain tomorrow?", Some("get_weather"), &[("day", "tomorrow")]),
    case("weather", "How warm is it in Paris right now?", Some("get_weather"), &[("location", "paris")]),
    case("weather", "Do I need an umbrella today?", Some("get_weather"), &[]),
    case("weather", "What's the forecast for Berlin tomorrow?", Some("get_weather"), &[("location", "berlin"), ("day", "tomorrow")]),
    case("time", "What time is it?", Some("get_time"), &[]),
    case("time", "Do you have the time?", Some("get_time"), &[]),
    case("time", "What's the time right now?", Some("get_time"), &[]),
    case("date", "What's today's date?", Some("get_date"), &[]),
    case("date", "What day of the week is it?", Some("get_date"), &[]),
    case("date", "What's the date today?", Some("get_date"), &[]),
    case("timer", "Set a timer for ten minutes.", Some("set_timer"), &[("duration_seconds", "600")]),
    case("timer", "Start a pasta timer for 8 minutes.", Some("set_timer"), &[("duration_seconds", "480"), ("name", "pasta")]),
    case("timer", "Set a timer for 30 seconds.", Some("set_timer"), &[("duration_seconds", "30")]),
    case("timer", "Cancel the pasta timer.", Some("cancel_timer"), &[("name", "pasta")]),
    case("timer", "Stop all my timers.", Some("cancel_timer"), &[]),
    case("timer", "How much time is left on my timer?", Some("timer_status"), &[]),
    case("timer", "Is my tea timer still running?", Some("timer_status"), &[]),
    case("wikipedia", "Look up Ada Lovelace on Wikipedia.", Some("wikipedia"), &[("topic", "lovelace")]),
    case("wikipedia", "Search Wikipedia for the Eiffel Tower.", Some("wikipedia"), &[("topic", "eiffel")]),
    case("wikipedia", "What does Wikipedia say about black holes?", Some("wikipedia"), &[("topic", "black hole")]),
    case("wikipedia", "Read me the Wikipedia summary of Marie Curie.", Some("wikipedia"), &[("topic", "curie")]),
    case("camera", "What do you see right now?", Some("look"), &[]),
    case("camera", "Take a look and tell me if the stove is on.", Some("look"), &[("question", "stove")]),
    case("camera", "Can you check how many people are in the room?", Some("look"), &[]),
    case("message", "Text Alex that I'm running late.", Some("send_message"), &[("contact", "alex"), ("message", "late")]),
    case("message", "Send a message to Mom saying dinner is ready.", Some("send_message"), &[("contact", "mom"), ("message", "dinner")]),
    case("message", "Call Alex.", Some("call_contact"), &[("contact", "alex")]),
    case("message", "Give my sister a call.", Some("call_contact"), &[("contact", "sister")]),
    case("no tool", "What is the capital of France?", None, &[]),
    case("no tool", "How many legs does a spider have?", None, &[]),
    case("no tool", "Tell me a joke.", None, &[]),
    case("no tool", "What's two plus two?", None, &[]),
    case("no tool", "How do you say hello in Spanish?", None, &[]),
    case("no tool", "Thank you!", None, &[]),
    case("no tool", "Good morning!", None, &[]),
    case("trap", "I'm under the weather today.", None, &[]),
    case("trap", "Time flies when you're having fun.", None, &[]),
    case("trap", "I don't have time for this right now.", None, &[]),
    case("trap", "Let's take a rain check on dinner.", None, &[]),
    case("trap", "My date went really well last night.", None, &[]),
    case("trap", "I'm feeling a bit under the weather, any tips?", None, &[]),
    case("trap", "That joke about timers was funny.", None, &[]),
    case("trap", "I see what you mean.", None, &[]),
    case("trap", "Let's call it a day.", None, &[]),
];

/// One case's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub category: &'static str,
    pub utterance: &'static str,
    pub expected: Option<&'static str>,
    /// The tool called, if any.
    pub called: Option<String>,
    pub arguments: Option<Value>,
    /// What was said instead (first sentence), or the error.
    pub said: Option<String>,
    /// Right tool (or rightly none).
    pub tool_ok: bool,
    /// Right tool with the expected arguments.
    pub ok: bool,
    pub prompt_tokens: u32,
    pub generated_tokens: u32,
    pub prompt_ms: u64,
    pub generate_ms: u64,
    /// From the start of the turn to the first sentence or the call, milliseconds.
    pub first_output_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoutingReport {
    pub model: String,
    pub threads: i32,
    /// The tool-call format used (`None`: the model was offered no tools).
    pub tool_format: Option<String>,
    /// What was noticed at start (a built-in template, tools off …).
    pub notices: Vec<String>,
    pub load_ms: u64,
    pub cases: Vec<CaseResult>,
}

impl RoutingReport {
    pub fn accuracy(&self) -> f64 {
        ratio(self.cases.iter().filter(|c| c.ok).count(), self.cases.len())
    }

    pub fn tool_accuracy(&self) -> f64 {
        ratio(self.cases.iter().filter(|c| c.tool_ok).count(), self.cases.len())
    }

    /// Prompt tokens per second over all cases (the cached prefix excluded).
    pub fn prompt_tokens_per_s(&self) -> f64 {
        per_s(self.cases.iter().map(|c| c.prompt_tokens as u64).sum(), self.cases.iter().map(|c| c.prompt_ms).sum())
    }

    /// Generated tokens per second over all cases.
    pub fn generation_tokens_per_s(&self) -> f64 {
        per_s(self.cases.iter().map(|c| c.generated_tokens as u64).sum(), self.cases.iter().map(|c| c.generate_ms).sum())
    }

    /// Tool calls where none was wanted (questions and traps).
    pub fn false_calls(&self) -> usize {
        self.cases.iter().filter(|c| c.expected.is_none() && c.called.is_some()).count()
    }

    /// Median time to the first spoken sentence over the cases answered in words, milliseconds.
    pub fn median_first_sentence_ms(&self) -> Option<u64> {
        median(self.cases.iter().filter(|c| c.called.is_none() && c.said.is_some()).filter_map(|c| c.first_output_ms).collect())
    }

    /// Median time to a tool call over the cases that made one, milliseconds.
    pub fn median_first_call_ms(&self) -> Option<u64> {
        median(self.cases.iter().filter(|c| c.called.is_some()).filter_map(|c| c.first_output_ms).collect())
    }

    /// (passed, total) for `category`.
    pub fn category(&self, category: &str) -> (usize, usize) {
        let of: Vec<_> = self.cases.iter().filter(|c| c.category == category).collect();
        (of.iter().filter(|c| c.ok).count(), of.len())
    }
}

fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

/// The categories of [`CASES`], in order.
pub fn categories() -> Vec<&'static str> {
    let mut out: Vec<&str> = CASES.iter().map(|c| c.category).collect();
    out.dedup();
    out
}

/// One row per model: accuracy per category and overall, false tool calls, speed, time to first output.
/// A model that could not be evaluated gets a row saying why.
pub fn comparison_table(results: &[(String, Result<RoutingReport, String>)]) -> String {
    let cats = categories();
    let name_width = results.iter().map(|(m, _)| short_name(m).len()).max().unwrap_or(5).max(5);
    let mut out = format!("{:<name_width$}", "model");
    for cat in &cats {
        out.push_str(&format!(" {cat:>9}"));
    }
    out.push_str("   overall  false-calls  prompt-t/s  gen-t/s  1st-sentence  1st-call  format\n");
    for (model, result) in results {
        out.push_str(&format!("{:<name_width$}", short_name(model)));
        match result {
            Err(why) => out.push_str(&format!(" failed: {why}\n")),
            Ok(r) => {
                for cat in &cats {
                    let (ok, n) = r.category(cat);
                    out.push_str(&format!(" {:>9}", format!("{ok}/{n}")));
                }
                let ms = |v: Option<u64>| v.map_or("-".to_string(), |ms| format!("{ms} ms"));
                out.push_str(&format!(
                    "  {:>7.1}%  {:>11}  {:>10.1}  {:>7.1}  {:>12}  {:>8}  {}\n",
                    r.accuracy() * 100.0,
                    format!("{}/{}", r.false_calls(), r.cases.iter().filter(|c| c.expected.is_none()).count()),
                    r.prompt_tokens_per_s(),
                    r.generation_tokens_per_s(),
                    ms(r.median_first_sentence_ms()),
                    ms(r.median_first_call_ms()),
                    r.tool_format.as_deref().unwrap_or("no tools"),
                ));
            }
        }
    }
    out.push_str("(1st-sentence, 1st-call: median from the start of the turn, prefix cached; false-calls: tool calls on requests that need none)");
    out
}

fn short_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

fn per_s(tokens: u64, ms: u64) -> f64 {
    if ms == 0 {
        0.0
    } else {
        tokens as f64 * 1000.0 / ms as f64
    }
}

/// Runs every case as a fresh one-message conversation (the prefix stays cached between cases).
pub fn eval_routing(model_path: &Path, config: &LlmConfig, mut progress: impl FnMut(&CaseResult)) -> Result<RoutingReport, LlmError> {
    let model = LlmModel::load(model_path)?;
    let mut engine = Engine::new(&model, config, catalog(), None)?;
    let tool_format = engine.prompt().tool_format().filter(|_| !engine.tools().is_empty()).map(|f| f.to_string());
    let notices = engine.notices().to_vec();
    let mut results = Vec::new();
    for case in CASES {
        let messages = [ChatMessage { role: Role::User, content: case.utterance.into() }];
        let mut outputs = Vec::new();
        let stats = engine.respond(&messages, |o| outputs.push(o))?;
        let call = outputs.iter().find_map(|o| match o {
            Output::ToolCall(c) => Some(c.clone()),
            Output::Sentence(_) => None,
        });
        let said = stats.unusable.clone().or_else(|| {
            outputs.iter().find_map(|o| match o {
                Output::Sentence(s) => Some(s.clone()),
                Output::ToolCall(_) => None,
            })
        });
        let called = call.as_ref().map(|c| c.tool.clone());
        let tool_ok = called.as_deref() == case.tool;
        let args_ok = call.as_ref().is_none_or(|c| {
            case.args.iter().all(|(key, want)| c.arguments.get(key).is_some_and(|v| value_text(v).to_lowercase().contains(want)))
        });
        let result = CaseResult {
            category: case.category,
            utterance: case.utterance,
            expected: case.tool,
            called,
            arguments: call.map(|c| c.arguments),
            said,
            tool_ok,
            ok: tool_ok && args_ok,
            prompt_tokens: stats.prompt_tokens,
            generated_tokens: stats.generated_tokens,
            prompt_ms: stats.prompt_ms,
            generate_ms: stats.generate_ms,
            first_output_ms: stats.first_output_ms,
        };
        progress(&result);
        results.push(result);
    }
    Ok(RoutingReport {
        model: model_path.display().to_string(),
        threads: config.thread_count(),
        tool_format,
        notices,
        load_ms: model.load_ms,
        cases: results,
    })
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.ok { "ok  " } else if self.tool_ok { "args" } else { "FAIL" };
        let got = match (&self.called, &self.arguments) {
            (Some(t), Some(a)) => format!("{t} {a}"),
            _ => format!("(no tool) {}", self.said.as_deref().unwrap_or("")),
        };
        let want = self.expected.unwrap_or("(no tool)");
        write!(f, "{mark} [{:<9}] {:<48} want {want:<13} got {got}", self.category, self.utterance)
    }
}

impl fmt::Display for RoutingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "model: {}  threads: {}  tool calls: {}",
            self.model,
            self.threads,
            self.tool_format.as_deref().unwrap_or("none (answers without tools)")
        )?;
        for notice in &self.notices {
            writeln!(f, "note: {notice}")?;
        }
        let mut categories: Vec<&str> = self.cases.iter().map(|c| c.category).collect();
        categories.dedup();
        for cat in categories {
            let of: Vec<_> = self.cases.iter().filter(|c| c.category == cat).collect();
            writeln!(f, "  {cat:<10} {}/{}", of.iter().filter(|c| c.ok).count(), of.len())?;
        }
        writeln!(
            f,
            "accuracy: {:.1}% ({}/{}), right tool ignoring arguments: {:.1}%",
            self.accuracy() * 100.0,
            self.cases.iter().filter(|c| c.ok).count(),
            self.cases.len(),
            self.tool_accuracy() * 100.0
        )?;
        write!(
            f,
            "speed: prompt {:.1} tokens/s (new turn only, prefix cached), generation {:.1} tokens/s",
            self.prompt_tokens_per_s(),
            self.generation_tokens_per_s()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_big_enough_and_names_real_tools() {
        assert!(CASES.len() >= 30);
        let tools: Vec<_> = catalog().iter().map(|t| t.name).collect();
        for c in CASES {
            if let Some(t) = c.tool {
                assert!(tools.contains(&t), "{t}");
            }
        }
        for cat in ["weather", "time", "date", "timer", "wikipedia", "camera", "message", "no tool", "trap"] {
            assert!(CASES.iter().any(|c| c.category == cat), "{cat}");
        }
    }
}
