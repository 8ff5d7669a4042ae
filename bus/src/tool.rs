//! Tool calls and their spoken results, and the catalog of tools the assistant knows.
//!
//! Every tool answers with a finished, speakable sentence: the brain speaks it directly, with no second
//! LLM pass (the reference build's biggest latency win).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::codec::Message;
use crate::{json_message, topic};

/// Call a tool, on `hearth/<site>/tool/call/<tool>`: each tool service subscribes to its own tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Echoed in the result.
    pub call_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    pub tool: String,
    /// Arguments as described by the tool's JSON schema in [`catalog`].
    #[serde(default)]
    pub arguments: Value,
}

impl Message for ToolCall {
    const SUFFIX: &'static str = "tool/call";
    const ENCODING: crate::Encoding = crate::Encoding::Json;

    fn matches(suffix: &str) -> bool {
        suffix.strip_prefix("tool/call/").is_some_and(|t| !t.is_empty() && !t.contains('/'))
    }
}

impl ToolCall {
    /// `hearth/<site>/tool/call/<tool>`.
    pub fn topic(&self, site: &str) -> String {
        call_topic(site, &self.tool)
    }
}

/// `hearth/<site>/tool/call/<tool>`.
pub fn call_topic(site: &str, tool: &str) -> String {
    topic::topic(site, &format!("{}/{tool}", ToolCall::SUFFIX))
}

/// Subscription filter for calls of `tool` on every site.
pub fn call_filter(tool: &str) -> String {
    call_topic("+", tool)
}

/// A tool's answer, on `hearth/<site>/tool/result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    pub tool: String,
    /// False when the tool could not do it; `sentence` then says so plainly.
    pub ok: bool,
    /// The finished sentence to speak.
    pub sentence: String,
    /// Structured data for automations and follow-ups (optional, tool-specific).
    #[serde(default)]
    pub data: Option<Value>,
}
json_message!(ToolResult, "tool/result");

/// A tool the language model may call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// Tool names, spelled once.
pub mod names {
    pub const GET_TIME: &str = "get_time";
    pub const GET_DATE: &str = "get_date";
    pub const SET_TIMER: &str = "set_timer";
    pub const CANCEL_TIMER: &str = "cancel_timer";
    pub const TIMER_STATUS: &str = "timer_status";
    pub const EXTEND_TIMER: &str = "extend_timer";
    pub const GET_WEATHER: &str = "get_weather";
    pub const WIKIPEDIA: &str = "wikipedia";
    pub const SET_VOLUME: &str = "set_volume";
}

/// Every tool the language model is offered, in a fixed order (the LLM's cached prefix depends on it): the
/// tool services' and timers', then the camera's `look` ([`crate::vision::look_tool`]) and the messages and
/// calls the brain hands off ([`crate::message::tools`]). A tool no service serves at the moment is still
/// offered (the prefix stays cached); the brain answers such a call with a plain sentence.
pub fn catalog() -> Vec<ToolSpec> {
    let mut tools = service_tools();
    tools.push(crate::vision::look_tool());
    tools.extend(crate::message::tools());
    tools
}

/// The tools the tools and timers services answer.
fn service_tools() -> Vec<ToolSpec> {
    use names::*;
    vec![
        ToolSpec {
            name: GET_TIME,
            // The tools service also takes an optional `location` (the time in a named place, asked by the
            // local intents); it is not offered to the LLM yet because the LLM crate's prompt tests pin this
            // entry's rendering. Add it there and here together.
            description: "Tell the current local time.",
            parameters: json!({"type": "object", "properties": {}, "required": []}),
        },
        ToolSpec {
            name: GET_DATE,
            description: "Tell today's date and weekday.",
            parameters: json!({"type": "object", "properties": {}, "required": []}),
        },
        ToolSpec {
            name: SET_TIMER,
            description: "Start a countdown timer that announces itself when done.",
            parameters: json!({"type": "object", "properties": {
                "duration_seconds": {"type": "integer", "minimum": 1, "maximum": 86400, "description": "Length in seconds."},
                "name": {"type": "string", "description": "Optional name, e.g. pasta."}
            }, "required": ["duration_seconds"]}),
        },
        ToolSpec {
            name: CANCEL_TIMER,
            description: "Cancel a running timer by name, or all timers.",
            parameters: json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "all": {"type": "boolean"}
            }, "required": []}),
        },
        ToolSpec {
            name: TIMER_STATUS,
            description: "Tell how long is left on running timers, or list them.",
            parameters: json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": []}),
        },
        ToolSpec {
            name: EXTEND_TIMER,
            description: "Add time to a running timer (the only one, or the named one).",
            parameters: json!({"type": "object", "properties": {
                "duration_seconds": {"type": "integer", "minimum": 1, "maximum": 86400, "description": "Seconds to add."},
                "name": {"type": "string"}
            }, "required": ["duration_seconds"]}),
        },
        ToolSpec {
            name: GET_WEATHER,
            description: "Current weather or the forecast for today or tomorrow at a place; or just whether rain or snow is expected, or the temperature.",
            parameters: json!({"type": "object", "properties": {
                "location": {"type": "string", "description": "Place name; omit for home."},
                "day": {"type": "string", "enum": ["now", "today", "tomorrow"]},
                "question": {"type": "string", "enum": ["general", "rain", "snow", "temperature"], "description": "Omit for the general report."}
            }, "required": []}),
        },
        ToolSpec {
            name: WIKIPEDIA,
            description: "Look up a person, place or thing on Wikipedia and read a short summary.",
            parameters: json!({"type": "object", "properties": {
                "topic": {"type": "string"}
            }, "required": ["topic"]}),
        },
        ToolSpec {
            name: SET_VOLUME,
            description: "Change the speaker volume: up or down a step, or to a level in percent.",
            parameters: json!({"type": "object", "properties": {
                "change": {"type": "string", "enum": ["up", "down"]},
                "level": {"type": "integer", "minimum": 0, "maximum": 100}
            }, "required": []}),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_topics_route_by_tool() {
        assert_eq!(call_topic("kitchen", "get_time"), "hearth/kitchen/tool/call/get_time");
        assert!(ToolCall::matches("tool/call/get_time"));
        assert!(!ToolCall::matches("tool/call/"));
        assert!(!ToolCall::matches("tool/call/a/b"));
        assert!(!ToolCall::matches("tool/result"));
    }

    #[test]
    fn catalog_offers_look_and_the_hand_off_tools_last() {
        let names: Vec<_> = catalog().iter().map(|t| t.name).collect();
        assert_eq!(names[..2], [names::GET_TIME, names::GET_DATE]);
        let n = names.len();
        assert_eq!(names[n - 3..], [crate::vision::LOOK, crate::message::names::SEND_MESSAGE, crate::message::names::CALL_CONTACT]);
    }

    #[test]
    fn catalog_names_are_unique() {
        let mut names: Vec<_> = catalog().iter().map(|t| t.name).collect();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
