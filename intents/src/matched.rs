//! A recognised intent and what it asks Hearth to do: call a tool (the tools and timers services answer
//! with a finished sentence), say a fixed sentence, or run one of the brain's own actions (`stop`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::compile::IntentInfo;
use crate::file::ResponseDef;

/// What a matched intent does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Call this tool with the slots as arguments.
    Tool(String),
    /// Say this sentence (e.g. "How long should the timer be?").
    Speech(String),
    /// An action of the brain itself, by name: `stop` stops what is playing and says nothing.
    Action(String),
}

/// A tool call to make: what `hearth/<site>/tool/call/<tool>` carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInvocation {
    pub tool: String,
    /// The JSON object of arguments, as the tool's schema in `hearth_bus::tool::catalog` describes.
    pub arguments: Value,
}

/// A recognised utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentMatch {
    /// The intent's name in the template files ("weather", "timer_set").
    pub intent: String,
    /// Slot values: from the matched words, and the fixed values of the sentence group.
    pub slots: BTreeMap<String, Value>,
    pub response: Response,
    /// The utterance as heard.
    pub text: String,
}

impl IntentMatch {
    pub(crate) fn new(intent: &IntentInfo, slots: BTreeMap<String, Value>, text: &str) -> IntentMatch {
        let response = match &intent.response {
            ResponseDef::Tool(t) => Response::Tool(t.clone()),
            ResponseDef::Speech(s) => Response::Speech(s.clone()),
            ResponseDef::Action(a) => Response::Action(a.clone()),
        };
        IntentMatch { intent: intent.name.to_string(), slots, response, text: text.to_string() }
    }

    /// The tool calls this match stands for: one for a tool intent, none otherwise. Slots become the
    /// arguments, under their own names.
    pub fn tool_calls(&self) -> Vec<ToolInvocation> {
        match &self.response {
            Response::Tool(tool) => {
                let arguments: Map<String, Value> = self.slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                vec![ToolInvocation { tool: tool.clone(), arguments: Value::Object(arguments) }]
            }
            _ => Vec::new(),
        }
    }

    /// The sentence to say, for a speech intent.
    pub fn speech(&self) -> Option<&str> {
        match &self.response {
            Response::Speech(s) => Some(s),
            _ => None,
        }
    }

    /// The brain's own action, for an action intent.
    pub fn action(&self) -> Option<&str> {
        match &self.response {
            Response::Action(a) => Some(a),
            _ => None,
        }
    }

    /// Slots as `key=value` pairs, for printing.
    pub fn slots_line(&self) -> String {
        self.slots
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}
